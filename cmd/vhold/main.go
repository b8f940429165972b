// Command vhold is the virtual-hold and callback service and its admin tool.
// Every subcommand reads the same configuration file and the same store, so
// `vhold callbacks list` on a live system shows what the running server sees
// (SQLite's WAL lets readers and one writer share the file safely).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/vhold/vhold/clock"
)

// version is set by the build (make build: -ldflags -X main.version=…).
var version = "dev"

// env is everything a command takes from outside its arguments, so tests run
// commands in-process with their own clock, environment and output.
type env struct {
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
	clock          clock.Clock
}

// command is one subcommand: its one-line summary for `vhold --help` and its
// run function, which returns the process exit code.
type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

func commands() map[string]command {
	return map[string]command{
		"serve":     {"run vhold: keep the line, follow the store, serve HTTP", runServe},
		"check":     {"check a configuration file and report every mistake", runCheck},
		"demo":      {"run the whole service on an in-memory PBX with synthetic callers", runDemo},
		"callbacks": {"list, add or cancel callbacks (list | add | cancel)", runCallbacks},
		"journal":   {"show the journal: every ticket transition", runJournal},
		"report":    {"report how well callback promises were kept (promised, on time, recovered)", runReport},
		"sounds":    {"export the prompts for a PBX (sounds export DIR)", runSounds},
		"version":   {"print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr, lookupEnv: os.LookupEnv, clock: clock.Real{}}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e *env, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "vhold: unknown command %q\n\n", args[0])
		usage(e.stderr, cmds)
		return 2
	}
	return c.run(ctx, e, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "vhold: virtual hold and callbacks for Asterisk and FreeSWITCH")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: vhold <command> [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'vhold <command> --help' for a command's flags.")
}

// newFlags makes a subcommand's flag set that prints its usage to stdout on
// --help and to stderr on a mistake.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: vhold %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags placed anywhere among the positional arguments
// (`vhold callbacks cancel 12 -c vhold.yaml` works as well as the reverse).
// It returns the positional arguments, or an exit code when it should stop.
func parse(e *env, fs *flag.FlagSet, args []string) ([]string, int, bool) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			// Asked-for help goes to stdout (it is the answer); the usage
			// printed after a mistake goes to stderr.
			fs.SetOutput(e.stdout)
			fs.Usage()
			return nil, 0, false
		}
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, 2, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, 0, true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// configFlag registers -c and returns where its value lands. Without -c the
// file is $VHOLD_CONFIG, else /etc/vhold/vhold.yaml.
func configFlag(e *env, fs *flag.FlagSet) *string {
	def := "/etc/vhold/vhold.yaml"
	if v, ok := e.lookupEnv("VHOLD_CONFIG"); ok && v != "" {
		def = v
	}
	p := new(string)
	fs.StringVar(p, "c", def, "configuration `file` (env VHOLD_CONFIG)")
	fs.StringVar(p, "config", def, "same as -c")
	return p
}

func runVersion(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "version", "version")
	if _, code, ok := parse(e, fs, args); !ok {
		return code
	}
	fmt.Fprintf(e.stdout, "vhold %s\n", version)
	return 0
}

// errorf prints a one-line error for a command and returns exit code 1.
func errorf(e *env, format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintln(e.stderr, "vhold: "+strings.TrimSpace(msg))
	return 1
}
