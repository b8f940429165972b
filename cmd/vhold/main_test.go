package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vhold/vhold/clock"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata")

// now is the fake time every golden case runs at: Monday 23 November 2026,
// 10:00 in Madrid, when the example config's queues are open.
var now = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// TestGolden runs each testdata/<case>/cmd (one vhold command per line, all
// against one fresh store) and compares the transcript with
// testdata/<case>/want. Run `go test ./cmd/vhold -update` after a deliberate
// change of output and read the diff.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*/cmd")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no golden cases")
	}
	for _, c := range cases {
		dir := filepath.Dir(c)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			script, err := os.ReadFile(c)
			if err != nil {
				t.Fatal(err)
			}
			got := transcript(t, string(script))
			wantFile := filepath.Join(dir, "want")
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("transcript differs from %s:\n--- got\n%s\n--- want\n%s", wantFile, got, want)
			}
		})
	}
}

func transcript(t *testing.T, script string) string {
	t.Helper()
	envs := map[string]string{
		"VHOLD_STORE":        filepath.Join(t.TempDir(), "vhold.db"),
		"VHOLD_ARI_PASSWORD": "ari-secret",
		"VHOLD_ESL_PASSWORD": "ClueCon",
	}
	clk := clock.NewFake(now)
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if d, ok := strings.CutPrefix(line, "advance "); ok {
			dur, err := time.ParseDuration(d)
			if err != nil {
				t.Fatalf("bad advance %q", d)
			}
			clk.Advance(dur)
			fmt.Fprintf(&out, "# clock +%s\n", dur)
			continue
		}
		args, err := splitArgs(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if args[0] != "vhold" {
			t.Fatalf("script line %q does not start with vhold", line)
		}
		var stdout, stderr bytes.Buffer
		e := &env{stdout: &stdout, stderr: &stderr, clock: clk,
			lookupEnv: func(k string) (string, bool) { v, ok := envs[k]; return v, ok }}
		code := run(context.Background(), e, args[1:])
		// The store lives in a fresh temporary folder; print it as $STORE.
		// Wall-clock durations (the demo's "ran … in 53ms") vary by machine.
		// Absolute paths depend on where the clone is; print it as $PWD.
		got := strings.ReplaceAll(stdout.String(), envs["VHOLD_STORE"], "$STORE")
		got = strings.ReplaceAll(got, cwd, "$PWD")
		got = wallTime.ReplaceAllString(got, "in <wall time>")
		fmt.Fprintf(&out, "$ %s\n%s", line, got)
		if stderr.Len() > 0 {
			errs := strings.ReplaceAll(stderr.String(), envs["VHOLD_STORE"], "$STORE")
			errs = strings.ReplaceAll(errs, cwd, "$PWD")
			for _, l := range strings.Split(strings.TrimRight(errs, "\n"), "\n") {
				fmt.Fprintf(&out, "stderr: %s\n", l)
			}
		}
		if code != 0 {
			fmt.Fprintf(&out, "exit %d\n", code)
		}
	}
	return out.String()
}

var wallTime = regexp.MustCompile(`(?m)in [0-9.]+(ns|µs|ms|s)$`)

// splitArgs splits a command line on spaces, keeping "double quoted" words.
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote, have = !inQuote, true
		case r == ' ' && !inQuote:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unclosed quote")
	}
	if have {
		args = append(args, cur.String())
	}
	return args, nil
}
