package hubcmd_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sleegation/podd/hubcmd"
)

func seen(t *testing.T, c *hubcmd.MemoryReplayCache, jti string, exp time.Time, want bool) {
	t.Helper()
	got, err := c.Seen(jti, exp)
	if err != nil || got != want {
		t.Fatalf("Seen(%q) = %v, %v; want %v", jti, got, err, want)
	}
}

func TestMemoryReplayCacheKeepsAJTIUntilItsExp(t *testing.T) {
	now := t0
	c := hubcmd.NewMemoryReplayCache(4, func() time.Time { return now })
	exp := t0.Add(time.Minute)
	seen(t, c, "a", exp, false)
	seen(t, c, "a", exp, true)
	now = exp.Add(-1)
	seen(t, c, "a", exp, true)
	now = exp // the Verifier refuses the command from here on
	seen(t, c, "b", exp.Add(time.Minute), false)
	if c.Len() != 1 {
		t.Fatalf("Len = %d after a's exp, want 1", c.Len())
	}
	seen(t, c, "a", exp.Add(time.Minute), false)
}

func TestMemoryReplayCacheRefusesWhenFullOfLiveJTIs(t *testing.T) {
	now := t0
	c := hubcmd.NewMemoryReplayCache(2, func() time.Time { return now })
	seen(t, c, "a", t0.Add(time.Minute), false)
	seen(t, c, "b", t0.Add(2*time.Minute), false)
	_, err := c.Seen("c", t0.Add(time.Minute))
	if !errors.Is(err, hubcmd.ErrReplayCacheFull) {
		t.Fatalf("Seen on a full cache: %v", err)
	}
	if want := "hubcmd: replay cache full of unexpired command ids (2 entries, the next expires at 2026-11-29T21:01:00Z)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	seen(t, c, "a", t0.Add(time.Minute), true) // a full cache still knows what it holds
	now = t0.Add(time.Minute)
	seen(t, c, "c", t0.Add(3*time.Minute), false)
	seen(t, c, "b", t0.Add(2*time.Minute), true)
}

func TestMemoryReplayCacheKeepsTheLaterExp(t *testing.T) {
	now := t0
	c := hubcmd.NewMemoryReplayCache(0, func() time.Time { return now })
	seen(t, c, "a", t0.Add(time.Minute), false)
	seen(t, c, "a", t0.Add(5*time.Minute), true)
	now = t0.Add(4 * time.Minute)
	seen(t, c, "a", t0.Add(5*time.Minute), true)
	seen(t, c, "a", t0.Add(time.Minute), true) // an earlier exp never shortens it
	now = t0.Add(5 * time.Minute)
	seen(t, c, "a", t0.Add(6*time.Minute), false)
}

func TestMemoryReplayCacheEvictsInExpOrder(t *testing.T) {
	now := t0
	c := hubcmd.NewMemoryReplayCache(100, func() time.Time { return now })
	for i := range 100 {
		seen(t, c, fmt.Sprint(i), t0.Add(time.Duration((i*37)%100+1)*time.Second), false)
	}
	for s := 1; s <= 100; s++ {
		now = t0.Add(time.Duration(s) * time.Second)
		seen(t, c, "probe", now, false) // exp == now: evicted on the next call
		if got, want := c.Len(), 100-s+1; got != want {
			t.Fatalf("at +%ds Len = %d, want %d", s, got, want)
		}
	}
}

// TestMemoryReplayCacheOneWinner: of many concurrent Seen with one jti,
// exactly one reports it new.
func TestMemoryReplayCacheOneWinner(t *testing.T) {
	c := hubcmd.NewMemoryReplayCache(0, func() time.Time { return t0 })
	var fresh atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			s, err := c.Seen("same", t0.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if !s {
				fresh.Add(1)
			}
		})
	}
	wg.Wait()
	if fresh.Load() != 1 {
		t.Fatalf("%d callers saw the jti as new, want 1", fresh.Load())
	}
}

// TestVerifyConcurrentReplay: one token delivered many times at once is
// accepted once.
func TestVerifyConcurrentReplay(t *testing.T) {
	f := newFixture(t)
	raw := signed(claims("identify", nil))
	var ok, replayed atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			_, err := f.v.Verify(raw, t0, true)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, hubcmd.ReasonReplayed):
				replayed.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || replayed.Load() != 15 {
		t.Fatalf("accepted %d, replayed %d; want 1 and 15", ok.Load(), replayed.Load())
	}
}
