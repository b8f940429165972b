package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vhold/vhold/queue"
)

// BenchmarkCommit measures durable transitions per second: each op is one
// Commit of an update transition, acknowledged only after its transaction
// committed on a file. With one goroutine every commit pays for itself; with
// eight, group commit shares each commit (and under FULL, each fsync) among
// the requests that queued while the previous one ran.
func BenchmarkCommit(b *testing.B) {
	for _, mode := range []string{"normal", "full"} {
		for _, goroutines := range []int{1, 8} {
			b.Run(fmt.Sprintf("sync=%s/goroutines=%d", mode, goroutines), func(b *testing.B) {
				benchmarkCommit(b, mode, goroutines)
			})
		}
	}
}

func benchmarkCommit(b *testing.B, syncMode string, goroutines int) {
	const tickets = 1000
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.db")

	// Fill the line under NORMAL so that setup does not dominate FULL runs.
	setup := openAt(b, path, Options{})
	all := make([]*queue.Ticket, tickets)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := g; i < tickets; i += 16 {
				tk := newTicket("support", queue.Callback, fmt.Sprintf("+3460%07d", i))
				if err := setup.Insert(ctx, tk, join(tk)); err != nil {
					b.Error(err)
					return
				}
				all[i] = tk
			}
		})
	}
	wg.Wait()
	if err := setup.Close(); err != nil {
		b.Fatal(err)
	}
	if b.Failed() {
		return
	}

	s := openAt(b, path, Options{Synchronous: syncMode})
	var next atomic.Int64
	b.ResetTimer()
	for g := range goroutines {
		// Each goroutine owns every goroutines-th ticket, so no two ever
		// race for one and every commit succeeds.
		var mine []*queue.Ticket
		for i := g; i < tickets; i += goroutines {
			mine = append(mine, all[i])
		}
		wg.Go(func() {
			for i := 0; next.Add(1) <= int64(b.N); i++ {
				tk := mine[i%len(mine)]
				tk.UpdatedAt = tk.UpdatedAt.Add(time.Millisecond)
				tk.Attempts++
				tr := &queue.Transition{Ticket: tk.ID, Event: queue.EvUpdate, From: tk.State, To: tk.State, Actor: "bench", At: tk.UpdatedAt}
				if err := s.Commit(ctx, tk, tr); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
	if batches := s.w.batches.Load(); batches > 0 {
		b.ReportMetric(float64(s.w.requests.Load())/float64(batches), "commits/batch")
	}
}
