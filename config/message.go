package config

import (
	"fmt"
	"io"
	"strings"
	"text/template"
)

// MessageData is what a recovery message template can use. The promise
// keeper fills the same fields (promise.MessageData embeds this shape), so a
// template that passes CheckMessage renders there too.
type MessageData struct {
	Team     string
	Promised string
	Deadline string
	Queue    string
	Ticket   int64
}

// CheckMessage parses a recovery message template and renders it once
// against sample data, so an unknown field is an error at `vhold check`
// rather than a message that fails when a promise is already slipping.
func CheckMessage(text string) error {
	if strings.TrimSpace(text) == "" {
		return fmt.Errorf("the message is empty")
	}
	t, err := template.New("message").Option("missingkey=error").Parse(text)
	if err != nil {
		return fmt.Errorf("not a valid template: %w", err)
	}
	sample := MessageData{Team: "the support team", Promised: "14:30", Deadline: "15:15", Queue: "support", Ticket: 1}
	if err := t.Execute(io.Discard, sample); err != nil {
		return fmt.Errorf("cannot be rendered: %w", err)
	}
	return nil
}
