package store

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vhold/vhold/queue"
)

// CommitObserved hears of every committed Insert and Commit, with its
// latency and its group commit's size, and of nothing that was refused.
func TestCommitObserved(t *testing.T) {
	var (
		mu      sync.Mutex
		batches []int
		total   time.Duration
	)
	s := openAt(t, filepath.Join(t.TempDir(), "vhold.db"), Options{CommitObserved: func(d time.Duration, batch int) {
		mu.Lock()
		defer mu.Unlock()
		batches = append(batches, batch)
		total += d
	}})
	tk := mustInsert(t, s, newTicket("support", queue.Callback, "+34911234567"))
	mustMove(t, s, tk, queue.EvReserve)
	// A duplicate callback for the same number is refused: not observed.
	dup := newTicket("support", queue.Callback, "+34911234567")
	if err := s.Insert(t.Context(), dup, join(dup)); err == nil {
		t.Fatal("duplicate callback accepted")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(batches) != 2 || batches[0] != 1 || batches[1] != 1 || total <= 0 {
		t.Fatalf("observed batches %v, total %s; want two commits of one, taking some time", batches, total)
	}
}

// The probe commits nothing and says the store can be written; after Close
// it says why not.
func TestWritable(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "w.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Writable(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := st.LastJournalID(ctx); err != nil || n != 0 {
		t.Fatalf("the probe wrote something: last journal id %d (%v)", n, err)
	}
	st.Close()
	if err := st.Writable(ctx); err == nil {
		t.Fatal("a closed store says it is writable")
	}
}
