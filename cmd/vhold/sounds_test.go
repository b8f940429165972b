package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vhold/vhold/clock"
	"github.com/vhold/vhold/sounds"
)

// The prompts embedded in the binary come out as files a PBX can play.
func TestSoundsExport(t *testing.T) {
	dir := t.TempDir()
	var out, errs bytes.Buffer
	e := &env{stdout: &out, stderr: &errs, clock: clock.Real{}, lookupEnv: func(string) (string, bool) { return "", false }}
	if code := run(context.Background(), e, []string{"sounds", "export", dir}); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	c, err := sounds.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := len(c.Keys()) * len(sounds.Languages())
	if !strings.Contains(out.String(), "wrote ") {
		t.Fatalf("output %q", out.String())
	}
	if p := sounds.CheckDir(os.DirFS(dir), sounds.Languages(), c.Keys()); len(p) != 0 {
		t.Fatalf("exported prompts: %v", p)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.wav"))
	if len(files) != want {
		t.Fatalf("%d files exported, want %d", len(files), want)
	}
}
