package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// voice is how one language is synthesised: a tool and the arguments that
// make it write text as a WAV file. The choices are explained in
// sounds/README.md.
type voice struct {
	tool string
	args func(text, wav string) []string
}

var voices = map[string]voice{
	// flite's rms (US male, 16 kHz clustergen): the fewest recognition
	// errors of slt, rms, awb and kal once band-limited to the telephone
	// band, and most of its energy below 3.4 kHz.
	"en": {"flite", func(text, wav string) []string {
		return []string{"-voice", "rms", "-t", text, "-o", wav}
	}},
	// espeak-ng's Spanish of Spain, default (male) variant: the clearest
	// formants of its variants at 8 kHz; 150 words a minute instead of its
	// brisk 175, for a telephone line; amplitude 50 instead of 100, at which
	// it clips its loudest sentences (the level is normalised afterwards).
	"es": {"espeak-ng", func(text, wav string) []string {
		return []string{"-v", "es", "-s", "150", "-a", "50", "-w", wav, text}
	}},
}

// soxEffects turn the synthesiser's output into a telephone prompt: one
// channel; a high-pass at 120 Hz (below the telephone band; frees headroom
// for the voice); 8 kHz with sox's very-high-quality resampler, which also
// band-limits to 4 kHz; peak-normalised to -3 dBFS; silence trimmed at both
// ends (anything under -50 dBFS, 47 dB below the peak) and 50 ms of silence
// put back at each end so joined fragments do not run together.
var soxEffects = []string{
	"remix", "-",
	"highpass", "120",
	"rate", "-v", "8000",
	"norm", "-3",
	"silence", "1", "0.01", "-50d", "reverse", "silence", "1", "0.01", "-50d", "reverse",
	"pad", "0.05", "0.05",
}

// tools lists the programs a run needs for langs, so a missing one is
// reported before any work starts.
func tools(langs []string) []string {
	ts := []string{"sox"}
	for _, l := range langs {
		ts = append(ts, voices[l].tool)
	}
	return ts
}

// job is one prompt in one language.
type job struct {
	key, lang, text string
}

// generate writes outDir/<lang>/<key>.wav for j, using tmp for the
// synthesiser's raw output. The file appears whole or not at all.
func generate(ctx context.Context, j job, outDir, tmp string) error {
	v := voices[j.lang]
	raw := filepath.Join(tmp, j.lang+"-"+j.key+".raw.wav")
	defer os.Remove(raw)
	if err := run(ctx, v.tool, v.args(j.text, raw)...); err != nil {
		return fmt.Errorf("%s/%s: %w", j.lang, j.key, err)
	}
	out := filepath.Join(outDir, j.lang, j.key+".wav")
	part := out + ".part"
	// -D: no dither, so the output depends on nothing but the input.
	args := []string{"-D", "-V1", raw,
		"-t", "wav", "-r", "8000", "-b", "16", "-e", "signed-integer", "-c", "1", part}
	if err := run(ctx, "sox", append(args, soxEffects...)...); err != nil {
		os.Remove(part)
		return fmt.Errorf("%s/%s: %w", j.lang, j.key, err)
	}
	if err := os.Rename(part, out); err != nil {
		os.Remove(part)
		return fmt.Errorf("%s/%s: %w", j.lang, j.key, err)
	}
	return nil
}

// run runs a tool and returns its stderr in the error when it fails or
// writes nothing useful.
func run(ctx context.Context, tool string, args ...string) error {
	cmd := exec.CommandContext(ctx, tool, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return fmt.Errorf("%s: %w", tool, err)
		}
		return fmt.Errorf("%s: %w: %s", tool, err, msg)
	}
	return nil
}

var errMissingTool = errors.New("not installed (Debian: apt-get install -y flite espeak-ng sox; `make sounds` does it)")
