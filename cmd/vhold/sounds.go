package main

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/vhold/vhold/config"
	"github.com/vhold/vhold/ivr"
	"github.com/vhold/vhold/queue"
	"github.com/vhold/vhold/sounds"
)

// runSounds is `vhold sounds export DIR`: the prompts are embedded in the
// binary, and a PBX needs them as files.
func runSounds(_ context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] != "export" {
		fmt.Fprintln(e.stderr, "Usage: vhold sounds export DIR")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	fs := newFlags(e, "sounds export", "sounds export DIR")
	pos, code, ok := parse(e, fs, args[1:])
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	n, err := sounds.Export(pos[0])
	if err != nil {
		return errorf(e, "%v", err)
	}
	fmt.Fprintf(e.stdout, "wrote %d prompts to %s (<lang>/<key>.wav)\n", n, pos[0])
	return 0
}

// promptKeys is every catalog key the configured queues can play, by
// language: the IVR's own, the queues' names, reasons and categories, and
// everything numbers, durations and times are composed of.
func promptKeys(c *config.Config) map[string][]string {
	fixed := append(ivr.PromptKeys(), ivrConfig(c).PromptKeys()...)
	for _, q := range c.Queues {
		for cat := range q.Promise.Categories {
			fixed = append(fixed, ivr.CategoryPrompt(queue.Category(cat)))
		}
	}
	out := map[string][]string{}
	for _, q := range c.Queues {
		lang := string(q.Language)
		if _, done := out[lang]; done {
			continue
		}
		seen := map[string]bool{}
		var keys []string
		for _, k := range append(append([]string(nil), fixed...), sounds.ComposeKeys(lang)...) {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		out[lang] = keys
	}
	return out
}

// checkSounds reports prompts the configured queues need that no voice has
// (an error: the caller would hear nothing), and, with a custom voice, the
// ones it lacks (the generated voice fills in) or cannot be played.
func checkSounds(e *env, c *config.Config) (problems int) {
	need := promptKeys(c)
	langs := make([]string, 0, len(need))
	for l := range need {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	var custom map[string]bool
	var customProblems []sounds.Problem
	if c.Sounds.Custom != "" {
		custom = map[string]bool{}
		for _, lang := range langs {
			for _, p := range sounds.CheckDir(os.DirFS(c.Sounds.Custom), []string{lang}, need[lang]) {
				if p.Why == "missing" {
					custom[p.Lang+"/"+p.Key] = true
				} else {
					customProblems = append(customProblems, p)
				}
			}
		}
	}
	total := 0
	for _, lang := range langs {
		total += len(need[lang])
		for _, p := range sounds.CheckDir(sounds.Shipped(), []string{lang}, need[lang]) {
			if c.Sounds.Custom != "" && !custom[p.Lang+"/"+p.Key] {
				continue // the custom voice has it
			}
			where := "record it"
			if c.Sounds.Custom != "" {
				where = "record it as " + c.Sounds.Custom + "/" + p.Lang + "/" + p.Key + ".wav"
			} else {
				where += " and set sounds.custom"
			}
			fmt.Fprintf(e.stderr, "%s: prompt %s (%s) exists in no voice: %s\n", c.File, p.Key, p.Lang, where)
			problems++
		}
	}
	for _, p := range customProblems {
		fmt.Fprintf(e.stderr, "%s: custom prompt %s (%s) cannot be played: %s\n", c.File, p.Key, p.Lang, p.Why)
		problems++
	}
	if c.Sounds.Custom != "" {
		missing := make([]string, 0, len(custom))
		for k := range custom {
			missing = append(missing, k)
		}
		sort.Strings(missing)
		for _, k := range missing {
			fmt.Fprintf(e.stdout, "  custom prompt missing: %s (the generated voice says it)\n", k)
		}
	}
	voice := "generated voice"
	if c.Sounds.Custom != "" {
		voice = fmt.Sprintf("custom voice in %s, %d prompt(s) missing", c.Sounds.Custom, len(custom))
	}
	fmt.Fprintf(e.stdout, "  sounds:     %d prompts in %v (%s)\n", total, langs, voice)
	return problems
}
