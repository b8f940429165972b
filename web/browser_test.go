package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/vhold/vhold/notify"
	"github.com/vhold/vhold/promise"
	"github.com/vhold/vhold/queue"
)

// Browser tests: the form and the board in headless Chromium, against the
// real Server over a real line (memory journal, fake clock). They need a
// Chromium binary; without one they fail (CI must run them, not skip them)
// unless -short is given.

// chromiumNames are the binaries tried, in order: Debian's, Ubuntu's older
// name, Google's.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("the browser tests need headless Chromium, and none of %s is on PATH.\n"+
		"`make test` installs it (apt-get install -y chromium on Debian); or install it yourself, or run go test -short to skip these tests.",
		strings.Join(chromiumNames, ", "))
	return ""
}

// browser is one headless Chromium with one tab, for one test.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots int
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		// Tests run as root in containers, where Chromium's sandbox
		// cannot start; the pages are our own.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "en-GB"),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		acancel()
	})
	// Start the browser now, with no deadline: the first Run binds the
	// browser's life to its context.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	return &browser{t: t, ctx: ctx}
}

// do runs steps with a deadline; on failure it takes a screenshot and ends
// the test.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// text reads an element's text.
func (b *browser) text(css string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		b.fail("read %s: %v", css, err)
	}
	return strings.TrimSpace(s)
}

func (b *browser) eval(expr string) bool {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
	return err == nil && ok
}

// waitJS polls a JavaScript condition in the page until it holds, calling
// nudge between polls: the board tests move the fake clock there, so that
// updates the server holds back to coalesce them go out.
func (b *browser) waitJS(what, expr string, nudge func()) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !b.eval(expr) {
		if time.Now().After(deadline) {
			b.fail("waited 15 s for %s (%s)", what, expr)
		}
		if nudge != nil {
			nudge()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fail saves a screenshot of the page into the test's artifact directory
// (a temporary directory removed after the test, unless go test is given
// -artifacts, which keeps it) and ends the test.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	b.shot()
	b.t.Fatalf(format, args...)
}

func (b *browser) shot() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	b.shots++
	path := filepath.Join(b.t.ArtifactDir(), fmt.Sprintf("failure-%d.png", b.shots))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	b.t.Logf("screenshot of the page: %s", path)
}

// requests records what the browser asked the server, to tell which path
// (plain form or script) a submission took.
type requests struct {
	mu  sync.Mutex
	got []string
}

func (rq *requests) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq.mu.Lock()
		rq.got = append(rq.got, r.Method+" "+r.URL.Path)
		rq.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (rq *requests) saw(what string) bool {
	rq.mu.Lock()
	defer rq.mu.Unlock()
	for _, g := range rq.got {
		if g == what {
			return true
		}
	}
	return false
}

func (rq *requests) String() string {
	rq.mu.Lock()
	defer rq.mu.Unlock()
	return strings.Join(rq.got, ", ")
}

func (f *fixture) serveRecorded() (*httptest.Server, *requests) {
	rq := &requests{}
	ts := httptest.NewServer(rq.wrap(f.srv))
	f.t.Cleanup(func() {
		f.srv.Close()
		ts.Close()
	})
	return ts, rq
}

// Without JavaScript the form posts to /callback and the server answers:
// first with the error next to the number, the input kept, then with the
// place in line.
func TestBrowserFormWithoutJavaScript(t *testing.T) {
	b := newBrowser(t)
	f := newFixture(t)
	ts, rq := f.serveRecorded()
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("disable JavaScript: %v", err)
	}
	b.do("open the form", chromedp.Navigate(ts.URL+"/callback"), chromedp.WaitVisible(chromedp.ID("number")))
	b.do("type a bad number", chromedp.SendKeys(chromedp.ID("number"), "12"), chromedp.SendKeys(chromedp.ID("name"), "Ana"),
		chromedp.Click(chromedp.ID("submit")), chromedp.WaitVisible(chromedp.ID("number-error")))
	if got := b.text("#number-error"); !strings.Contains(got, "That is not a valid phone number") {
		b.fail("error next to the number: %q", got)
	}
	if v, _ := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("name"))); v != "Ana" {
		b.fail("the name was not kept: %q", v)
	}
	b.do("correct the number", chromedp.SetValue(chromedp.ID("number"), "612 34 00 01"),
		chromedp.Click(chromedp.ID("submit")), chromedp.WaitVisible(chromedp.ID("result-position")))
	if got := b.text("#result-position"); got != "1" {
		b.fail("position %q, want 1", got)
	}
	if got := b.text("#result-window"); got != "10:00–10:05 UTC" {
		b.fail("window %q", got)
	}
	// The plain path: the browser posted the form itself, and no script
	// asked the API for slots or for the callback.
	if !rq.saw("POST /callback") || rq.saw("POST /api/v1/callbacks") || rq.saw("GET /api/v1/queues/support/slots") {
		b.fail("the form did not take the plain path: %s", rq)
	}
	if _, _, ok := f.line.ActiveCallback("support", "+34612340001"); !ok {
		t.Error("no callback in the line")
	}
}

// With JavaScript the form refreshes its slots from the API, posts to the
// API, and shows the answer in place: the page is never left.
func TestBrowserFormWithJavaScript(t *testing.T) {
	b := newBrowser(t)
	f := newFixture(t)
	ts, rq := f.serveRecorded()
	b.do("open the form", chromedp.Navigate(ts.URL+"/callback"), chromedp.WaitVisible(chromedp.ID("number")))
	b.waitJS("the script", `document.getElementById('callback-form').dataset.enhanced === 'true'`, nil)
	b.waitJS("the slots from the API", `document.querySelectorAll('#slot option').length > 0`, nil)
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.vholdPage = 'same'`))

	// An error, in place.
	b.do("type a bad number", chromedp.SendKeys(chromedp.ID("number"), "12"), chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("number-error")))
	if got := b.text("#number-error"); !strings.Contains(got, "That is not a valid phone number") {
		b.fail("error %q", got)
	}
	b.do("correct it", chromedp.SetValue(chromedp.ID("number"), "612 34 00 02"), chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("result-position")))
	if got := b.text("#result-position"); got != "1" {
		b.fail("position %q, want 1", got)
	}
	if !b.eval(`window.vholdPage === 'same' && document.getElementById('callback-form').hidden`) {
		b.fail("the page was reloaded or the form is still shown")
	}
	if !rq.saw("GET /api/v1/queues/support/slots") || !rq.saw("POST /api/v1/callbacks") || rq.saw("POST /callback") {
		b.fail("the script did not use the API: %s", rq)
	}

	// A slot from the list.
	b.do("open the form again", chromedp.Navigate(ts.URL+"/callback"), chromedp.WaitVisible(chromedp.ID("number")))
	b.waitJS("the slots", `document.getElementById('callback-form').dataset.enhanced === 'true' && document.querySelector('#slot option[value="2026-11-23T11:00:00Z"]') !== null`, nil)
	b.do("choose 11:00", chromedp.SendKeys(chromedp.ID("number"), "612 34 00 03"), chromedp.Click(chromedp.ID("when-slot")),
		chromedp.SetValue(chromedp.ID("slot"), "2026-11-23T11:00:00Z"), chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("result-window")))
	if got := b.text("#result-window"); !strings.Contains(got, "11:00–11:30") {
		b.fail("window %q", got)
	}
	if tk, _, ok := f.line.ActiveCallback("support", "+34612340003"); !ok || tk.Kind != queue.Scheduled || !tk.SlotStart.Equal(at(23, 11, 0)) {
		t.Errorf("scheduled callback %+v", tk)
	}
}

// signIn logs in to the board and waits for its live stream.
func (b *browser) signIn(url, name string) {
	b.t.Helper()
	b.do("sign in", chromedp.Navigate(url+"/board/login"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token), chromedp.SendKeys(chromedp.ID("owner"), name),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("rows")))
	b.waitJS("the live stream", `document.getElementById('live').className === 'live on'`, nil)
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.vholdPage = 'same'`))
}

// apiCall sends a request to the API with the token, as a CRM or a script
// would.
func apiCall(t *testing.T, method, url, body string) {
	t.Helper()
	r, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s", method, url, resp.Status)
	}
}

// A callback created through the API appears on an open board without a
// reload; taking it from the board shows its new owner the same way.
func TestBrowserBoardLive(t *testing.T) {
	b := newBrowser(t)
	f := newFixture(t)
	ts, _ := f.serveRecorded()
	nudge := func() { f.clk.Advance(coalesceEvery) }
	b.signIn(ts.URL, "Sara")
	if !b.eval(`document.querySelector('#rows tr.empty') !== null`) {
		b.fail("the board is not empty")
	}

	apiCall(t, http.MethodPost, ts.URL+"/api/v1/callbacks", body("number", "+34 612 34 56 01", "queue", "support", "category", "money"))
	b.waitJS("the new row", `document.querySelector('#rows tr[data-id="1"]') !== null`, nudge)
	if got := b.text("#cb-1 .customer"); got != "+34 6•• •• •• 01" {
		b.fail("customer %q", got)
	}
	if got := b.text(`tr[data-queue="support"] td:nth-of-type(2)`); got != "1" {
		b.fail("callbacks pending %q, want 1", got)
	}

	b.do("take it", chromedp.Click(chromedp.ID("take-1")))
	b.waitJS("the owner", `document.querySelector('#cb-1 .owner').textContent.trim() === 'Sara'`, nudge)
	if got := b.text("#status"); got != "You own callback 1." {
		b.fail("status %q", got)
	}
	b.do("cancel it", chromedp.Click(chromedp.ID("cancel-1")))
	b.waitJS("the cancelled row", `document.querySelector('#cb-1.finished') !== null`, nudge)
	if !b.eval(`window.vholdPage === 'same'`) {
		b.fail("the board was reloaded")
	}
	if _, _, err := f.line.Ticket(1); err == nil {
		t.Error("callback 1 is still in the line")
	}
}

// notes is a notifier that keeps the messages.
type notes struct {
	mu   sync.Mutex
	msgs []notify.Message
}

func (n *notes) Notify(_ context.Context, m notify.Message) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, m)
	return nil
}

// A promise the keeper finds at risk (both agents log off) turns its row
// "at risk" with the recovery message and the reset deadline; when the reset
// slips too, the row is escalated. All in virtual time.
func TestBrowserBoardAtRisk(t *testing.T) {
	b := newBrowser(t)
	sent := &notes{}
	var k *promise.Keeper
	f := newFixture(t, func(o *Options) {
		k = promise.New(o.Line, o.Clock, map[string]promise.Policy{"support": {
			Supervisor: "sara@example.com", Default: promise.Category{Margin: 2 * time.Minute},
		}}, sent, nil)
		o.Keeper = k
	})
	ctx, cancel := context.WithCancel(context.Background())
	k.Start(ctx)
	t.Cleanup(func() {
		cancel()
		k.Stop()
	})
	ts, _ := f.serveRecorded()
	nudge := func() { f.clk.Advance(coalesceEvery) }
	b.signIn(ts.URL, "Sara")

	apiCall(t, http.MethodPost, ts.URL+"/api/v1/callbacks", body("number", "+34 612 34 56 01", "queue", "support"))
	b.waitJS("the new row", `document.querySelector('#cb-1[data-risk="ok"]') !== null`, nudge)
	if got := b.text("#cb-1 .badge"); got != "On time" {
		b.fail("badge %q", got)
	}

	// Both agents log off: nobody can call back in time.
	for _, a := range []string{"alice", "bob"} {
		apiCall(t, http.MethodPut, ts.URL+"/api/v1/agents/"+a+"/state", `{"state":"offline","reason":"end of shift"}`)
	}
	b.waitJS("the row at risk", `document.querySelector('#cb-1[data-risk="at_risk"]') !== null`, nudge)
	if got := b.text("#cb-1 .badge"); got != "At risk" {
		b.fail("badge %q", got)
	}
	tk, _, err := f.line.Ticket(1)
	if err != nil || tk.Promise.Resets != 1 || tk.Promise.RecoverySentAt.IsZero() {
		t.Fatalf("ticket after the reset: %+v %v", tk, err)
	}
	b.waitJS("the owner and the recovery message", `document.querySelector('#cb-1 .owner').textContent.trim() === 'sara@example.com' && `+
		`document.querySelector('#cb-1 td:nth-child(8)').textContent.trim() !== '—'`, nudge)
	if got, want := b.text("#cb-1 td:nth-child(9)"), tk.Promise.Deadline.UTC().Format("15:04"); !strings.HasSuffix(got, want) {
		b.fail("reset deadline %q, want %s", got, want)
	}
	if !b.eval(`getComputedStyle(document.getElementById('cb-1')).backgroundColor !== getComputedStyle(document.querySelector('thead th')).backgroundColor`) {
		b.fail("the row at risk does not stand out")
	}

	// The reset slips too: at its margin the keeper escalates.
	f.clk.Set(tk.Promise.Deadline.Add(-2 * time.Minute))
	b.waitJS("the escalated row", `document.querySelector('#cb-1[data-risk="escalated"]') !== null`, nudge)
	if got := b.text("#cb-1 .badge"); got != "Escalated" {
		b.fail("badge %q", got)
	}
	if !b.eval(`window.vholdPage === 'same'`) {
		b.fail("the board was reloaded")
	}
}
