// Package sounds is every word vhold says: the prompt catalog (catalog.yaml,
// one entry per key with its text in each language), the generated audio
// shipped with vhold (en/*.wav, es/*.wav, 8 kHz 16-bit mono, made by
// `make sounds` from the catalog), the composition of numbers, durations and
// times from those prompts, and the checks that keep the three in step with
// what the IVR plays.
//
// The audio is embedded in the binary, so one file carries its prompts:
// `vhold sounds export DIR` writes them out for a PBX to play.
package sounds

import (
	"bytes"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed catalog.yaml
var catalogYAML []byte

//go:embed en/*.wav es/*.wav
var shipped embed.FS

// Languages are the languages vhold ships prompts for.
var languages = []string{"en", "es"}

// Languages returns the shipped languages.
func Languages() []string { return append([]string(nil), languages...) }

// Entry is one prompt in one language: its text, and what the speech
// synthesiser is given when the text alone does not sound right.
type Entry struct {
	Text string
	Say  string
}

// Catalog is the prompt catalog: key → language → entry.
type Catalog struct {
	Prompts map[string]map[string]Entry
}

// Load returns the catalog shipped with vhold.
func Load() (*Catalog, error) { return Parse(catalogYAML) }

// Parse reads a catalog file: `prompts: {key: {en: "text", es: "text",
// say: {en: "respelling"}}}`.
func Parse(data []byte) (*Catalog, error) {
	var raw struct {
		Prompts map[string]map[string]yaml.Node `yaml:"prompts"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("sounds catalog: %w", err)
	}
	c := &Catalog{Prompts: map[string]map[string]Entry{}}
	for k, langs := range raw.Prompts {
		m := map[string]Entry{}
		var says map[string]string
		for lang, n := range langs {
			if lang == "say" {
				if err := n.Decode(&says); err != nil {
					return nil, fmt.Errorf("sounds catalog: %s.say: %w", k, err)
				}
				continue
			}
			var text string
			if err := n.Decode(&text); err != nil {
				return nil, fmt.Errorf("sounds catalog: %s.%s: %w", k, lang, err)
			}
			m[lang] = Entry{Text: text}
		}
		for lang, say := range says {
			e := m[lang]
			e.Say = say
			m[lang] = e
		}
		c.Prompts[k] = m
	}
	return c, nil
}

// Keys returns every key, sorted.
func (c *Catalog) Keys() []string {
	out := make([]string, 0, len(c.Prompts))
	for k := range c.Prompts {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Text returns a prompt's words in a language.
func (c *Catalog) Text(key, lang string) (string, bool) {
	e, ok := c.Prompts[key][lang]
	return e.Text, ok && e.Text != ""
}

// Shipped is the generated audio, as lang/key.wav.
func Shipped() fs.FS { return shipped }

// Export writes the shipped audio to dir/lang/key.wav, for a PBX to play
// (Asterisk's sounds folder, a path FreeSWITCH reads).
func Export(dir string) (int, error) {
	n := 0
	err := fs.WalkDir(shipped, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := shipped.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("export sounds to %s: %w", dir, err)
	}
	return n, nil
}

// Format is what a WAV file holds, as far as a PBX cares.
type Format struct {
	Rate, Channels, Bits int
	Samples              int
	// Peak is the largest absolute sample; Clipped counts samples at full scale.
	Peak, Clipped int
	Duration      time.Duration
}

// ReadWAV reads a PCM WAV file's format and scans its samples.
func ReadWAV(r io.Reader) (Format, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Format{}, err
	}
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return Format{}, errors.New("not a RIFF/WAVE file")
	}
	var f Format
	var pcm []byte
	fmtSeen := false
	for off := 12; off+8 <= len(data); {
		id := string(data[off : off+4])
		size := int(binary.LittleEndian.Uint32(data[off+4 : off+8]))
		body := data[off+8 : min(off+8+size, len(data))]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return Format{}, errors.New("short fmt chunk")
			}
			if tag := binary.LittleEndian.Uint16(body[0:2]); tag != 1 && tag != 0xFFFE {
				return Format{}, fmt.Errorf("not PCM (format tag %d)", tag)
			}
			f.Channels = int(binary.LittleEndian.Uint16(body[2:4]))
			f.Rate = int(binary.LittleEndian.Uint32(body[4:8]))
			f.Bits = int(binary.LittleEndian.Uint16(body[14:16]))
			fmtSeen = true
		case "data":
			pcm = body
		}
		off += 8 + size + size%2
	}
	if !fmtSeen || pcm == nil {
		return Format{}, errors.New("no fmt or data chunk")
	}
	if f.Bits == 16 && f.Channels > 0 {
		f.Samples = len(pcm) / 2 / f.Channels
		for i := 0; i+1 < len(pcm); i += 2 {
			s := int(int16(binary.LittleEndian.Uint16(pcm[i:])))
			if s < 0 {
				s = -s
			}
			if s > f.Peak {
				f.Peak = s
			}
			if s >= 32767 {
				f.Clipped++
			}
		}
	}
	if f.Rate > 0 {
		f.Duration = time.Duration(f.Samples) * time.Second / time.Duration(f.Rate)
	}
	return f, nil
}

// CheckFormat says what is wrong with a prompt file for a PBX: it must be
// 8 kHz 16-bit mono PCM (what both Asterisk and FreeSWITCH play without
// transcoding on a telephone line), not empty, not clipped.
func CheckFormat(f Format) error {
	switch {
	case f.Rate != 8000 || f.Channels != 1 || f.Bits != 16:
		return fmt.Errorf("%d Hz, %d channel(s), %d-bit: want 8000 Hz, mono, 16-bit", f.Rate, f.Channels, f.Bits)
	case f.Duration < 100*time.Millisecond:
		return fmt.Errorf("only %s long", f.Duration)
	case f.Peak < 1000:
		return fmt.Errorf("silent (peak %d)", f.Peak)
	case f.Clipped > 2:
		return fmt.Errorf("clipped (%d samples at full scale)", f.Clipped)
	}
	return nil
}

// Problem is a prompt a PBX would not find or could not play.
type Problem struct {
	Key, Lang string
	Why       string
}

func (p Problem) String() string { return fmt.Sprintf("%s (%s): %s", p.Key, p.Lang, p.Why) }

// CheckDir checks a folder laid out as lang/key.wav (a custom voice, or the
// shipped one) for every key in every language: missing files and files in
// a format the PBX cannot play.
func CheckDir(fsys fs.FS, langs, keys []string) []Problem {
	var out []Problem
	for _, lang := range langs {
		for _, k := range keys {
			data, err := fs.ReadFile(fsys, path.Join(lang, k+".wav"))
			if err != nil {
				out = append(out, Problem{Key: k, Lang: lang, Why: "missing"})
				continue
			}
			f, err := ReadWAV(bytes.NewReader(data))
			if err == nil {
				err = CheckFormat(f)
			}
			if err != nil {
				out = append(out, Problem{Key: k, Lang: lang, Why: err.Error()})
			}
		}
	}
	return out
}

func sortStrings(s []string) { sort.Strings(s) }
