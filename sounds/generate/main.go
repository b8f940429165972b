// Command generate makes vhold's prompt audio from the prompt catalog: for
// every key and language, speech from a synthesiser (flite for English,
// espeak-ng for Spanish), turned by sox into the 8 kHz, 16-bit, mono WAV
// that Asterisk and FreeSWITCH both play, in <out>/<lang>/<key>.wav.
//
//	go run ./sounds/generate [-catalog sounds/catalog.yaml] [-out sounds] [-lang en,es] [-only key,key]
//
// Nothing in the chain is random (no dither), so the same catalog and the
// same tool versions give byte-identical files. A run of the whole catalog
// also removes the WAV files of keys no longer in it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// workers is how many prompts are made at once.
const workers = 2

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := runMain(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

type options struct {
	catalog, out string
	langs, only  []string
}

func parseArgs(args []string) (options, error) {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	catalogPath := fs.String("catalog", "sounds/catalog.yaml", "the prompt catalog")
	out := fs.String("out", "sounds", "where the <lang>/<key>.wav files go")
	langs := fs.String("lang", "en,es", "languages to generate, comma-separated")
	only := fs.String("only", "", "generate only these keys, comma-separated (default: all)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	o := options{catalog: *catalogPath, out: *out, langs: split(*langs), only: split(*only)}
	if len(o.langs) == 0 {
		return options{}, fmt.Errorf("-lang: no language")
	}
	for _, l := range o.langs {
		if _, ok := voices[l]; !ok {
			return options{}, fmt.Errorf("-lang: no voice for %q (have %s)", l, strings.Join(voiceLangs(), ", "))
		}
	}
	return o, nil
}

func runMain(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseArgs(args)
	if err != nil {
		return err
	}
	for _, t := range tools(o.langs) {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("%s: %w", t, errMissingTool)
		}
	}
	c, err := loadCatalog(o.catalog, o.langs)
	if err != nil {
		return err
	}
	keys := c.keys()
	if len(o.only) > 0 {
		for _, k := range o.only {
			if _, ok := c.Prompts[k]; !ok {
				return fmt.Errorf("-only: %q is not in %s", k, o.catalog)
			}
		}
		keys = o.only
	}
	var jobs []job
	for _, lang := range o.langs {
		if err := os.MkdirAll(filepath.Join(o.out, lang), 0o755); err != nil {
			return err
		}
		for _, k := range keys {
			jobs = append(jobs, job{key: k, lang: lang, text: c.Prompts[k].spoken(lang)})
		}
	}
	tmp, err := os.MkdirTemp("", "vhold-sounds-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	if err := generateAll(ctx, jobs, o.out, tmp); err != nil {
		return err
	}
	if len(o.only) == 0 {
		for _, lang := range o.langs {
			stale, err := removeStale(filepath.Join(o.out, lang), c)
			if err != nil {
				return err
			}
			for _, f := range stale {
				fmt.Fprintf(stdout, "removed %s (not in the catalog)\n", f)
			}
		}
	}
	for _, lang := range o.langs {
		fmt.Fprintf(stdout, "%s: %d prompts in %s\n", lang, len(keys), filepath.Join(o.out, lang))
	}
	return nil
}

// generateAll makes every job on at most workers goroutines. The first
// failure stops the rest; every failure that happened is reported.
func generateAll(ctx context.Context, jobs []job, outDir, tmp string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan job)
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
	)
	for range min(workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				if err := generate(ctx, j, outDir, tmp); err != nil {
					mu.Lock()
					if ctx.Err() == nil || len(errs) == 0 {
						errs = append(errs, err.Error())
					}
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case queue <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return ctx.Err()
}

// removeStale deletes the WAV files in dir whose key is not in the catalog
// and returns their paths.
func removeStale(dir string, c *catalog) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.wav"))
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, f := range files {
		if _, ok := c.Prompts[strings.TrimSuffix(filepath.Base(f), ".wav")]; ok {
			continue
		}
		if err := os.Remove(f); err != nil {
			return removed, err
		}
		removed = append(removed, f)
	}
	return removed, nil
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func voiceLangs() []string {
	ls := make([]string, 0, len(voices))
	for l := range voices {
		ls = append(ls, l)
	}
	sort.Strings(ls)
	return ls
}
