package web

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vhold/vhold/queue"
)

var updateShots = flag.Bool("update", false, "rewrite the README's screenshots, docs/board.png and docs/form.png")

// TestScreenshots takes the README's pictures of the board and the form from
// the real pages in headless Chromium:
//
//	go test ./web -run TestScreenshots -args -update
//
// Without -update it only checks that both pages render into an image.
func TestScreenshots(t *testing.T) {
	b := newBrowser(t)
	f := newFixture(t)
	ts, _ := f.serveRecorded()
	boardScene(t, f)
	nudge := func() { f.clk.Advance(coalesceEvery) }

	b.do("size the window", chromedp.EmulateViewport(1600, 700))
	b.signIn(ts.URL, "Sara")
	b.waitJS("every row", `document.querySelectorAll('#rows tr[data-id]').length === 5`, nudge)
	board, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fail("screenshot the board: %v", err)
	}

	b.do("a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	b.do("the form", chromedp.Navigate(ts.URL+"/callback"), chromedp.WaitVisible(chromedp.ID("number")))
	b.waitJS("the script", `document.getElementById('callback-form').dataset.enhanced === 'true'`, nil)
	b.do("fill it in", chromedp.SendKeys(chromedp.ID("number"), "612 34 56 78"), chromedp.SendKeys(chromedp.ID("name"), "Ana"),
		chromedp.SendKeys(chromedp.ID("reason"), "My router keeps restarting"), chromedp.Click(chromedp.ID("when-slot")),
		chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	form, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fail("screenshot the form: %v", err)
	}
	if len(board) < 1000 || len(form) < 1000 {
		t.Fatalf("screenshots of %d and %d bytes", len(board), len(form))
	}
	if !*updateShots {
		return
	}
	for name, png := range map[string][]byte{"board.png": board, "form.png": form} {
		path := filepath.Join("..", "docs", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d KiB)", path, len(png)/1024)
	}
}

// boardScene fills the line with callbacks in every state the board shows:
// on time, reset after a risk with the customer told, escalated, a written
// reset to resolve, and one cancelled a moment ago; and a caller on hold.
func boardScene(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	keep := func(id int64, ev queue.Event, change func(*queue.Promise)) {
		t.Helper()
		if _, err := f.line.Keep(ctx, queue.TicketID(id), ev, "scene", "promise", func(n *queue.Ticket) { change(&n.Promise) }); err != nil {
			t.Fatal(err)
		}
	}
	late := f.mustCreate(body("number", "+34 699 11 22 33", "queue", "support", "category", "general")).ID
	esc := f.mustCreate(body("number", "+351 912 345 678", "queue", "support", "category", "money")).ID
	f.clk.Set(t0.Add(20 * time.Minute))
	written := f.mustCreate(body("number", "+34 655 44 33 22", "queue", "sales", "category", "access")).ID
	gone := f.mustCreate(body("number", "+34 611 22 33 44", "queue", "support")).ID
	f.clk.Set(t0.Add(34 * time.Minute))
	keep(late, queue.EvAtRisk, func(p *queue.Promise) { p.AtRiskAt = f.clk.Now() })
	keep(late, queue.EvOwn, func(p *queue.Promise) { p.Owner = "sara@example.com" })
	keep(late, queue.EvReset, func(p *queue.Promise) { p.Deadline, p.Resets, p.AtRiskAt = t0.Add(65*time.Minute), 1, time.Time{} })
	keep(late, queue.EvRecovery, func(p *queue.Promise) { p.RecoverySentAt = f.clk.Now() })
	keep(esc, queue.EvOwn, func(p *queue.Promise) { p.Owner = "billing-lead" })
	keep(esc, queue.EvReset, func(p *queue.Promise) { p.Deadline, p.Resets = t0.Add(44*time.Minute), 1 })
	keep(esc, queue.EvRecovery, func(p *queue.Promise) { p.RecoverySentAt = f.clk.Now() })
	keep(esc, queue.EvEscalate, func(p *queue.Promise) { p.Escalated = true })
	keep(written, queue.EvOwn, func(p *queue.Promise) { p.Owner = "Luis" })
	keep(written, queue.EvReset, func(p *queue.Promise) { p.Deadline, p.Resets, p.Written = t0.Add(90*time.Minute), 1, true })
	keep(written, queue.EvRecovery, func(p *queue.Promise) { p.RecoverySentAt = f.clk.Now() })
	f.clk.Set(t0.Add(38 * time.Minute))
	if _, err := f.line.Cancel(ctx, queue.TicketID(gone), "the customer called in and was served", "ivr"); err != nil {
		t.Fatal(err)
	}
	f.clk.Set(t0.Add(40 * time.Minute))
	f.mustCreate(body("number", "+34 612 34 56 01", "queue", "support", "category", "money"))
	if _, err := f.line.Join(ctx, queue.JoinRequest{Queue: "support", Kind: queue.Live, Number: "+34911234567", Actor: "ivr"}); err != nil {
		t.Fatal(err)
	}
}
