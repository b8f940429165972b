package web

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/vhold/vhold/queue"
)

// postForm posts the callback form as a browser without JavaScript does.
func (f *fixture) postForm(v url.Values, header map[string]string) (int, string, http.Header) {
	f.t.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, x := range header {
		h[k] = x
	}
	rec := f.do(req{method: http.MethodPost, path: "/callback", header: h, body: v.Encode()})
	return rec.Code, html.UnescapeString(rec.Body.String()), rec.Header()
}

func fields(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestFormPage(t *testing.T) {
	f := newFixture(t)
	rec := f.do(req{path: "/callback", header: map[string]string{"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}})
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	page := html.UnescapeString(rec.Body.String())
	for _, want := range []string{
		`<html lang="es">`, "Solicitar una llamada", `name="queue" value="support"`, // the first queue
		"España (+34)", `<label for="number">`, `<legend>¿Cuándo te llamamos?</legend>`,
		`name="viewport"`, `aria-live="polite"`,
		`<optgroup label="lunes 23 de noviembre">`, `<option value="2026-11-23T10:30:00Z">lun 23 nov, 10:30–11:00</option>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'self' https://www.example.com") {
		t.Errorf("CSP %q", csp)
	}
	// English by default, and ?lang= wins over the header.
	if p := html.UnescapeString(f.do(req{path: "/callback"}).Body.String()); !strings.Contains(p, `<html lang="en">`) || !strings.Contains(p, "Spain (+34)") {
		t.Error("no English page without Accept-Language")
	}
	if p := f.do(req{path: "/callback?lang=en", header: map[string]string{"Accept-Language": "es"}}).Body.String(); !strings.Contains(p, "Request a callback") {
		t.Error("?lang=en did not win")
	}
}

func TestFormQueueChoice(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		q := o.Queues["support"]
		q.NoForm = true
		o.Queues["support"] = q
	})
	if p := f.do(req{path: "/callback"}).Body.String(); !strings.Contains(p, `name="queue" value="sales"`) {
		t.Error("the default skips a queue kept off the form")
	}
	for _, path := range []string{"/callback?queue=support", "/callback?queue=nope"} {
		if rec := f.do(req{path: path}); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "not available") {
			t.Errorf("%s: %d", path, rec.Code)
		}
	}
}

func TestFormPostCreates(t *testing.T) {
	f := newFixture(t)
	code, page, _ := f.postForm(fields("queue", "support", "number", "612 34 00 01", "name", "Ana", "reason", "router", "when", "asap"),
		map[string]string{"Accept-Language": "es", "Origin": "http://example.com"})
	if code != http.StatusCreated {
		t.Fatalf("status %d: %s", code, page)
	}
	for _, want := range []string{"Gracias. Te llamaremos.", "Eres el número 1 de la cola.", `<dd id="result-window">10:00–10:05 UTC</dd>`} {
		if !strings.Contains(page, want) {
			t.Errorf("result lacks %q", want)
		}
	}
	tk, _, ok := f.line.ActiveCallback("support", "+34612340001")
	if !ok || tk.Name != "Ana" || tk.Reason != "router" || tk.Language != "es" {
		t.Fatalf("ticket %+v", tk)
	}
	// Again: the existing callback, not a second one.
	code, page, _ = f.postForm(fields("queue", "support", "number", "+34612340001"), nil)
	if code != http.StatusOK || !strings.Contains(page, "You had already asked for a callback") {
		t.Errorf("again: %d", code)
	}
}

func TestFormPostSlot(t *testing.T) {
	f := newFixture(t)
	code, page, _ := f.postForm(fields("queue", "support", "number", mobile(2), "when", "slot", "slot", "2026-11-23T11:00:00Z"), nil)
	if code != http.StatusCreated || !strings.Contains(page, "We will call you at the time you chose.") ||
		!strings.Contains(page, "11:00–11:30 UTC") || strings.Contains(page, "result-position") {
		t.Fatalf("%d %s", code, page)
	}
	if tk, _, _ := f.line.ActiveCallback("support", mobile(2)); tk.Kind != queue.Scheduled {
		t.Errorf("kind %s", tk.Kind)
	}
	// A slot chosen without a time, and a time the queue cannot keep.
	code, page, _ = f.postForm(fields("queue", "support", "number", mobile(3), "when", "slot"), nil)
	if code != http.StatusBadRequest || !strings.Contains(page, `<p class="error" id="when-error">Choose a time`) {
		t.Errorf("no slot: %d", code)
	}
	code, page, _ = f.postForm(fields("queue", "support", "number", mobile(3), "when", "slot", "slot", "2026-11-23T20:00:00Z"), nil)
	if code != http.StatusBadRequest || !strings.Contains(page, "That time can no longer be offered") {
		t.Errorf("closed slot: %d", code)
	}
}

// A refused number comes back next to its field, marked invalid, with
// everything typed kept.
func TestFormPostErrorsNextToFields(t *testing.T) {
	f := newFixture(t)
	code, page, _ := f.postForm(fields("queue", "support", "number", "12", "name", "Ana <b>", "reason", "it & that"), nil)
	if code != http.StatusBadRequest {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{
		`<p class="error" id="number-error">That is not a valid phone number.`,
		`aria-invalid="true"`, `value="12"`, `value="Ana <b>"`, `>it & that</textarea>`,
		`<a href="#number">That is not a valid phone number.`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if page := f.do(req{method: http.MethodPost, path: "/callback", body: "queue=support&number=12&name=Ana+%3Cb%3E",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}).Body.String(); strings.Contains(page, "Ana <b>") {
		t.Error("the name was not escaped")
	}
	// Portugal is allowed, the UK is not.
	code, _, _ = f.postForm(fields("queue", "support", "number", "+351 912 345 678", "when", "asap"), map[string]string{"Accept-Language": "es"})
	if code != http.StatusCreated {
		t.Fatalf("Portugal: %d", code)
	}
	code, page, _ = f.postForm(fields("queue", "support", "number", "+44 7400 123456"), map[string]string{"Accept-Language": "es"})
	if code != http.StatusBadRequest || !strings.Contains(page, "Solo podemos llamar a números de España, Portugal.") {
		t.Errorf("UK: %d", code)
	}
	if n := len(f.j.Transitions()); n != 1 {
		t.Errorf("%d journal rows, want the Portuguese callback's one", n)
	}
}

// The form and the API share the per-address limit: alternating between
// them gains nothing.
func TestFormSharesTheAPILimits(t *testing.T) {
	f := newFixture(t)
	for i := range DefaultRate {
		if rec := f.create(body("number", mobile(10+i), "queue", "support")); rec.Code != http.StatusCreated {
			t.Fatalf("create %d: %d", i, rec.Code)
		}
	}
	code, page, h := f.postForm(fields("queue", "support", "number", mobile(20)), nil)
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(page, "Too many requests. Please try again in 12 seconds.") {
		t.Errorf("%d %v", code, h)
	}
}

func TestFormRefusals(t *testing.T) {
	f := newFixture(t)
	code, page, _ := f.postForm(fields("queue", "support", "number", mobile(1)), map[string]string{"Origin": "https://evil.example"})
	if code != http.StatusForbidden || !strings.Contains(page, "This page may not send callback requests.") {
		t.Errorf("foreign origin: %d", code)
	}
	code, page, _ = f.postForm(fields("queue", "support", "number", mobile(1), "reason", strings.Repeat("x", DefaultMaxBody)), nil)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(page, "The request is too long.") {
		t.Errorf("oversized: %d", code)
	}
	if code, _, _ := f.postForm(fields("queue", "nope", "number", mobile(1)), nil); code != http.StatusNotFound {
		t.Errorf("unknown queue: %d", code)
	}
	if len(f.j.Transitions()) != 0 {
		t.Error("a refused form joined the line")
	}
}

func TestAssets(t *testing.T) {
	f := newFixture(t)
	for path, ct := range map[string]string{
		"/callback/assets/form.js": "text/javascript", "/callback/assets/style.css": "text/css", "/board/assets/board.js": "text/javascript",
	} {
		rec := f.do(req{path: path})
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), ct) {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	for _, path := range []string{"/callback/assets/form.html", "/callback/assets/board.js", "/board/assets/..%2fserver.go"} {
		if rec := f.do(req{path: path}); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d", path, rec.Code)
		}
	}
}

// Every string a page can show exists in both languages: the keys the
// templates name, the ones the Go code names, and the script's.
func TestCatalogsComplete(t *testing.T) {
	for k := range catalog["en"] {
		if catalog["es"][k] == "" {
			t.Errorf("%q has no Spanish", k)
		}
	}
	for k := range catalog["es"] {
		if catalog["en"][k] == "" {
			t.Errorf("%q has no English", k)
		}
	}
	used := map[string]bool{}
	for _, k := range clientKeys {
		used[k] = true
	}
	tmplKey := regexp.MustCompile(`\.T "([a-z_.]+)"`)
	goKey := regexp.MustCompile(`(?:tr\(\w+, |T\()"([a-z_.]+)"`)
	files, _ := filepath.Glob("ui/*.html")
	gofiles, _ := filepath.Glob("*.go")
	for _, name := range append(files, gofiles...) {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		re := tmplKey
		if strings.HasSuffix(name, ".go") {
			re = goKey
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			used[string(m[1])] = true
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys in use; has the lookup's spelling changed?", len(used))
	}
	var missing []string
	for k := range used {
		if _, ok := catalog["en"][k]; !ok && !strings.HasSuffix(k, ".") {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		t.Errorf("%q is used but not in the catalog", k)
	}
}

func TestMaskNumber(t *testing.T) {
	for in, want := range map[string]string{
		"+34612345601":  "+34 6•• •• •• 01",
		"+441632960961": "+44 1••• ••••61",
		"":              "—",
	} {
		if got := maskNumber(in); got != want {
			t.Errorf("maskNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

// "As soon as possible" while the queue is closed is its first slot, and the
// customer is told so rather than that they chose a time.
func TestFormAsapWhileClosed(t *testing.T) {
	f := newFixture(t)
	f.clk.Set(at(23, 20, 0)) // Monday evening, support closed
	page := html.UnescapeString(f.do(req{path: "/callback"}).Body.String())
	if !strings.Contains(page, "As soon as possible (we are closed now") {
		t.Error("the form does not say the queue is closed")
	}
	code, page, _ := f.postForm(fields("queue", "support", "number", mobile(1), "when", "asap"), nil)
	if code != http.StatusCreated || !strings.Contains(page, "We are closed now. We will call you at the first time we can keep") ||
		!strings.Contains(page, "Tue 24 Nov, 09:00–09:30 UTC") {
		t.Errorf("%d %s", code, page)
	}
}

// MountPages puts the form and the board on the binary's mux beside the
// API it mounts itself.
func TestMountPages(t *testing.T) {
	f := newFixture(t)
	mux := http.NewServeMux()
	f.srv.MountPages(mux)
	for path, want := range map[string]int{
		"/callback": http.StatusOK, "/callback/assets/form.js": http.StatusOK, "/board": http.StatusSeeOther,
		"/board/login": http.StatusOK, "/api/v1/queues": http.StatusNotFound,
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", path, rec.Code, want)
		}
	}
}
