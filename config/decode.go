package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder fills the struct tree from a yaml.Node tree. Unlike yaml.Unmarshal
// it does not stop at the first problem: each one is recorded with its line
// and key path and decoding carries on with the next key, so one run of
// "vhold check" shows the admin everything to fix.
//
// It knows structs (fields by their yaml tag), maps with string keys, slices,
// pointers, strings, integers, floats, booleans, time.Duration, and any type
// whose pointer has a decodeScalar(string) error method.
type decoder struct {
	file      string
	lookupEnv func(string) (string, bool)
	errs      Errors
	// pos is the node each key path was read from (its key where it has one,
	// so a message about a queue points at "support:"), for placing the
	// messages of later validation.
	pos map[string]*yaml.Node
	// failed holds the paths that could not be decoded, so validation does not
	// pile a second, confusing message on a value the admin already has to fix.
	failed map[string]bool
}

// scalarDecoder is implemented by types that read and check their own text.
type scalarDecoder interface {
	decodeScalar(string) error
}

// defaulter is implemented by types with defaults; the decoder calls it on
// every map or list element it creates, before decoding over it.
type defaulter interface {
	setDefaults()
}

var durationType = reflect.TypeFor[time.Duration]()

func newDecoder(file string, lookupEnv func(string) (string, bool)) *decoder {
	return &decoder{
		file:      file,
		lookupEnv: lookupEnv,
		pos:       make(map[string]*yaml.Node),
		failed:    make(map[string]bool),
	}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (d *decoder) decodeDocument(data []byte, c *Config) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		fe := FieldError{File: d.file, Msg: err.Error()}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			fe.Line, _ = strconv.Atoi(m[1])
			fe.Msg = m[2]
		}
		d.errs = append(d.errs, fe)
		d.failed[""] = true
		return
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return // an empty file: all defaults
	}
	root := doc.Content[0]
	d.pos[""] = root
	d.decode(root, "", reflect.ValueOf(c).Elem())
}

// errors returns the problems in file order, or nil.
func (d *decoder) errors() error {
	if len(d.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(d.errs, func(a, b FieldError) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return d.errs
}

// fail records a problem at node n.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, FieldError{File: d.file, Line: n.Line, Column: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
	d.failed[path] = true
}

// report records a validation problem at path, placed at the nearest node
// read for it or for one of its parents.
func (d *decoder) report(path, format string, args ...any) {
	if d.isFailed(path) {
		return
	}
	fe := FieldError{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	for p := path; ; p = parent(p) {
		if n, ok := d.pos[p]; ok {
			fe.Line, fe.Column = n.Line, n.Column
			break
		}
		if p == "" {
			break
		}
	}
	d.errs = append(d.errs, fe)
}

// isFailed reports whether path or one of its parents could not be decoded.
func (d *decoder) isFailed(path string) bool {
	for p := path; ; p = parent(p) {
		if d.failed[p] {
			return true
		}
		if p == "" {
			return false
		}
	}
}

func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // "key:" with nothing keeps the default
	}
	if v.CanAddr() {
		if h, ok := v.Addr().Interface().(scalarDecoder); ok {
			if s, ok := d.scalar(n, path); ok {
				if err := h.decodeScalar(s); err != nil {
					d.fail(n, path, "%v", err)
				}
			}
			return
		}
	}
	if v.Type() == durationType {
		d.decodeDuration(n, path, v)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
			initElem(v)
		}
		d.decode(n, path, v.Elem())
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Map:
		d.decodeMap(n, path, v)
	case reflect.Slice:
		d.decodeSlice(n, path, v)
	case reflect.String:
		if s, ok := d.scalar(n, path); ok {
			v.SetString(s)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if s, ok := d.scalar(n, path); ok {
			i, err := strconv.ParseInt(s, 10, v.Type().Bits())
			if err != nil {
				d.fail(n, path, "%q is not a whole number", s)
				return
			}
			v.SetInt(i)
		}
	case reflect.Float32, reflect.Float64:
		if s, ok := d.scalar(n, path); ok {
			f, err := strconv.ParseFloat(s, v.Type().Bits())
			if err != nil {
				d.fail(n, path, "%q is not a number", s)
				return
			}
			v.SetFloat(f)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path); ok {
			switch strings.ToLower(s) {
			case "true":
				v.SetBool(true)
			case "false":
				v.SetBool(false)
			default:
				d.fail(n, path, "%q is not true or false", s)
			}
		}
	default:
		// A field type the decoder was not taught: a programming error,
		// reported rather than panicking so the rest still gets checked.
		d.fail(n, path, "internal error: cannot decode into %s", v.Type())
	}
}

func (d *decoder) decodeDuration(n *yaml.Node, path string, v reflect.Value) {
	s, ok := d.scalar(n, path)
	if !ok {
		return
	}
	dur, err := time.ParseDuration(s)
	switch {
	case err != nil && isDigits(s):
		d.fail(n, path, "%q is not a duration (give a unit, as in \"%ss\" or \"%sm\")", s, s, s)
	case err != nil:
		d.fail(n, path, "%q is not a duration (want e.g. \"90s\", \"5m\", \"1h30m\")", s)
	case dur < 0:
		d.fail(n, path, "%q is negative", s)
	default:
		v.SetInt(int64(dur))
	}
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	pairs, ok := d.pairs(n, path)
	if !ok {
		return
	}
	fields := yamlFields(v.Type())
	for _, p := range pairs {
		name := p.key.Value
		fp := join(path, name)
		i, ok := fields[name]
		if !ok {
			msg := "unknown key"
			if s := suggest(name, fields); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.fail(p.key, fp, "%s", msg)
			continue
		}
		d.pos[fp] = p.key
		d.decode(p.val, fp, v.Field(i))
	}
}

func (d *decoder) decodeMap(n *yaml.Node, path string, v reflect.Value) {
	pairs, ok := d.pairs(n, path)
	if !ok {
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for _, p := range pairs {
		fp := join(path, p.key.Value)
		d.pos[fp] = p.key
		key := reflect.ValueOf(p.key.Value).Convert(v.Type().Key())
		elem := reflect.New(v.Type().Elem()).Elem()
		if old := v.MapIndex(key); old.IsValid() {
			// Decoding over the existing entry is what lets a user map
			// merge over a default one.
			elem.Set(old)
		} else {
			initElem(elem)
		}
		d.decode(p.val, fp, elem)
		v.SetMapIndex(key, elem)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, path string, v reflect.Value) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "want a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		d.pos[ip] = item
		initElem(s.Index(i))
		d.decode(item, ip, s.Index(i))
	}
	v.Set(s)
}

// initElem gives a new map or list element its defaults; a nil pointer is
// allocated first.
func initElem(v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if v.CanAddr() {
		if def, ok := v.Addr().Interface().(defaulter); ok {
			def.setDefaults()
		}
	}
}

type pair struct{ key, val *yaml.Node }

// pairs lists a mapping's entries in the order to apply them: what "<<"
// merges in first, then the mapping's own keys, which win. Merged mappings
// combine deeply with the keys beside them, as the rest of the decoder does
// with defaults.
func (d *decoder) pairs(n *yaml.Node, path string) ([]pair, bool) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping of keys, got %s", describe(n))
		return nil, false
	}
	var merged, own []pair
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			merged = append(merged, d.mergeSources(val, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "want a name as key, got %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(k, join(path, k.Value), "duplicate key (first at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		own = append(own, pair{k, val})
	}
	return append(merged, own...), true
}

func (d *decoder) mergeSources(val *yaml.Node, path string) []pair {
	for val.Kind == yaml.AliasNode {
		val = val.Alias
	}
	if val.Kind != yaml.SequenceNode {
		ps, _ := d.pairs(val, path)
		return ps
	}
	// In "<<: [*a, *b]" the earlier source wins, so it is applied last.
	var out []pair
	for _, src := range slices.Backward(val.Content) {
		ps, _ := d.pairs(src, path)
		out = append(out, ps...)
	}
	return out
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

// scalar returns n's text with ${VAR} substituted.
func (d *decoder) scalar(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "want a single value, got %s", describe(n))
		return "", false
	}
	s, errs := expand(n.Value, d.lookupEnv)
	for _, err := range errs {
		d.fail(n, path, "%v", err)
	}
	return s, len(errs) == 0
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces ${VAR} with its value from lookup, and $$ with $. Any other
// $ is kept, so a password such as "pa$s" needs no escaping.
func expand(s string, lookup func(string) (string, bool)) (string, []error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	var errs []error
	for i := 0; i < len(s); {
		switch {
		case s[i] != '$':
			b.WriteByte(s[i])
			i++
		case strings.HasPrefix(s[i:], "$$"):
			b.WriteByte('$')
			i += 2
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				errs = append(errs, errors.New(`unterminated "${" (write "$$" for a literal "$")`))
				return s, errs
			}
			name := s[i+2 : i+2+end]
			i += 2 + end + 1
			if !varName.MatchString(name) {
				errs = append(errs, fmt.Errorf("%q is not a variable name", "${"+name+"}"))
				continue
			}
			val, ok := lookup(name)
			if !ok {
				errs = append(errs, fmt.Errorf("environment variable %s is not set", name))
				continue
			}
			b.WriteString(val)
		default:
			b.WriteByte('$')
			i++
		}
	}
	return b.String(), errs
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// join appends a key to a path; odd keys are quoted so the path stays
// unambiguous: queues["Sales Team"].
func join(path, key string) string {
	if !plainKey.MatchString(key) {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// parent strips the last element of a path; it is used only to place
// messages, so a quoted key containing "." or "[" may place one a level too
// high, never wrongly.
func parent(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

func yamlFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = i
		}
	}
	return fields
}

// suggest returns the known key closest to a misspelt one, if any is close.
func suggest(name string, fields map[string]int) string {
	best, bestDist := "", 3
	for f := range fields {
		if dist := editDistance(name, f); dist < bestDist || (dist == bestDist && f < best) {
			best, bestDist = f, dist
		}
	}
	if bestDist > len(name)/2 {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
