package ari

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// traceLine is one line of shared/pbx/asterisk/traces/*.jsonl (see the
// README there for the fields).
type traceLine struct {
	Seq         int               `json:"seq"`
	Kind        string            `json:"kind"`
	WS          int               `json:"ws"`
	Type        string            `json:"type"`
	Event       json.RawMessage   `json:"event"`
	Req         int               `json:"req"`
	Method      string            `json:"method"`
	Path        string            `json:"path"`
	URL         string            `json:"url"`
	Query       map[string]string `json:"query"`
	RequestBody json.RawMessage   `json:"request_body"`
	Status      int               `json:"status"`
	StatusText  string            `json:"status_text"`
	ContentType string            `json:"content_type"`
	Body        json.RawMessage   `json:"body"`
	BodyText    string            `json:"body_text"`
}

// traceDir finds shared/pbx/asterisk/traces beside the repository (the
// layout of the workspace: /work/main is the module, /work/shared the
// recordings) by walking up from the package directory.
func traceDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared", "pbx", "asterisk", "traces")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("shared/pbx/asterisk/traces not found above the package directory")
		}
		dir = parent
	}
}

// traceFiles returns every trace file name, sorted.
func traceFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(traceDir(t), "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no trace files")
	}
	sort.Strings(files)
	return files
}

// readTrace reads one trace file by base name ("errors.jsonl") or path.
func readTrace(t *testing.T, name string) []traceLine {
	t.Helper()
	path := name
	if filepath.Base(name) == name {
		path = filepath.Join(traceDir(t), name)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []traceLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 8<<20)
	for sc.Scan() {
		var l traceLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: line %d: %v", name, len(out)+1, err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// traceEvents returns the raw events of a trace, in order.
func traceEvents(t *testing.T, name string) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	for _, l := range readTrace(t, name) {
		if l.Kind == "event" {
			out = append(out, l.Event)
		}
	}
	return out
}
