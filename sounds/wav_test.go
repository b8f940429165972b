package sounds

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// wav builds a PCM WAV: a sine at amplitude amp (0..1, above 1 clips).
func wav(rate, channels, bits int, d time.Duration, amp float64) []byte {
	n := int(d.Seconds() * float64(rate))
	var pcm bytes.Buffer
	for i := range n {
		v := amp * 32767 * math.Sin(2*math.Pi*440*float64(i)/float64(rate))
		v = math.Max(-32768, math.Min(32767, v))
		for range channels {
			_ = binary.Write(&pcm, binary.LittleEndian, int16(v))
		}
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+pcm.Len()))
	b.WriteString("WAVEfmt ")
	_ = binary.Write(&b, binary.LittleEndian, uint32(16))
	_ = binary.Write(&b, binary.LittleEndian, uint16(1))
	_ = binary.Write(&b, binary.LittleEndian, uint16(channels))
	_ = binary.Write(&b, binary.LittleEndian, uint32(rate))
	_ = binary.Write(&b, binary.LittleEndian, uint32(rate*channels*bits/8))
	_ = binary.Write(&b, binary.LittleEndian, uint16(channels*bits/8))
	_ = binary.Write(&b, binary.LittleEndian, uint16(bits))
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(pcm.Len()))
	b.Write(pcm.Bytes())
	return b.Bytes()
}

func TestCheckFormat(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want string // substring of the error; "" for none
	}{
		{"telephone quality", wav(8000, 1, 16, time.Second, 0.7), ""},
		{"wideband", wav(16000, 1, 16, time.Second, 0.7), "want 8000 Hz"},
		{"stereo", wav(8000, 2, 16, time.Second, 0.7), "want 8000 Hz, mono"},
		{"empty", wav(8000, 1, 16, 20*time.Millisecond, 0.7), "long"},
		{"silent", wav(8000, 1, 16, time.Second, 0.01), "silent"},
		{"clipped", wav(8000, 1, 16, time.Second, 1.5), "clipped"},
		{"not a wav", []byte("ID3 mp3 data here"), "RIFF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := ReadWAV(bytes.NewReader(c.data))
			if err == nil {
				err = CheckFormat(f)
			}
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestCheckDirNamesKeyAndLanguage(t *testing.T) {
	fsys := fstest.MapFS{
		"es/greeting.wav": {Data: wav(8000, 1, 16, time.Second, 0.7)},
		"es/goodbye.wav":  {Data: wav(44100, 1, 16, time.Second, 0.7)},
	}
	got := CheckDir(fsys, []string{"es"}, []string{"greeting", "goodbye", "thank-you"})
	var lines []string
	for _, p := range got {
		lines = append(lines, p.String())
	}
	want := []string{
		"goodbye (es): 44100 Hz, 1 channel(s), 16-bit: want 8000 Hz, mono, 16-bit",
		"thank-you (es): missing",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
