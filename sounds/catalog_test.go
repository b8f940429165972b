package sounds

import (
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/vhold/vhold/ivr"
)

// Every key the IVR can play and every key Expand can compose has text in
// every shipped language.
func TestCatalogCoversTheIVR(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range Languages() {
		keys := append(ivr.PromptKeys(), ComposeKeys(lang)...)
		for _, k := range keys {
			if _, ok := c.Text(k, lang); !ok {
				t.Errorf("the IVR may play %q in %s, but the catalog has no text for it", k, lang)
			}
		}
	}
	for _, k := range c.Keys() {
		for _, lang := range Languages() {
			if _, ok := c.Text(k, lang); !ok {
				t.Errorf("catalog entry %q has no %s text", k, lang)
			}
		}
	}
}

// Every catalog entry has audio in every language, in a format both PBXs
// play, not empty and not clipped; and no audio lacks an entry.
func TestShippedAudio(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range CheckDir(Shipped(), Languages(), c.Keys()) {
		t.Errorf("shipped audio: %s", p)
	}
	err = fs.WalkDir(Shipped(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		k := strings.TrimSuffix(path.Base(p), ".wav")
		if _, ok := c.Prompts[k]; !ok {
			t.Errorf("%s has no catalog entry (remove it, or add the entry)", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
