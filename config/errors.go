package config

import (
	"fmt"
	"strings"
)

// FieldError is one problem in the file.
type FieldError struct {
	File string
	// Line is 1-based; 0 when the problem has no place in the file (a YAML
	// error without a position).
	Line int
	// Column is 1-based, 0 when Line is; it orders problems on one line and
	// is left out of Error to keep messages short.
	Column int
	// Path is the key path, "queues.support.offer.min_wait" or
	// "pbx.asterisk[0].url"; empty for a problem with the file as a whole.
	Path string
	Msg  string
}

func (e FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found, in file order.
type Errors []FieldError

// Error prints one problem per line, as compilers do, so editors and humans
// can jump to each.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}
