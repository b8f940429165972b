package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// entry is one catalog prompt: its words per language and, where the
// synthesiser needs respelling, what to give it instead (say).
type entry struct {
	Text map[string]string `yaml:",inline"`
	Say  map[string]string `yaml:"say"`
}

// spoken is what the synthesiser reads for lang: the say override if there
// is one, else the words.
func (e entry) spoken(lang string) string {
	if s, ok := e.Say[lang]; ok {
		return s
	}
	return e.Text[lang]
}

type catalog struct {
	Prompts map[string]entry `yaml:"prompts"`
}

// loadCatalog reads the catalog and checks that every prompt has words in
// every language of langs; all the gaps are reported together.
func loadCatalog(path string, langs []string) (*catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c catalog
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(c.Prompts) == 0 {
		return nil, fmt.Errorf("%s: no prompts", path)
	}
	var gaps []string
	for _, key := range c.keys() {
		e := c.Prompts[key]
		for _, lang := range langs {
			if strings.TrimSpace(e.Text[lang]) == "" {
				gaps = append(gaps, fmt.Sprintf("%s: no %s words", key, lang))
			} else if s, ok := e.Say[lang]; ok && strings.TrimSpace(s) == "" {
				gaps = append(gaps, fmt.Sprintf("%s: empty %s say", key, lang))
			}
		}
	}
	if len(gaps) > 0 {
		return nil, fmt.Errorf("%s:\n  %s", path, strings.Join(gaps, "\n  "))
	}
	return &c, nil
}

// keys returns the prompt keys, sorted.
func (c *catalog) keys() []string {
	keys := make([]string, 0, len(c.Prompts))
	for k := range c.Prompts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
