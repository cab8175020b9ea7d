package journal

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/hubcmd"
)

// ReplayLimits.Lifetime: "the longest a command lives (exp - iat at most,
// and so exp - now at most for one accepted now): hubcmd.MaxLifetime",
// as cmd/podd passed. But the verifier accepts an iat up to
// hubcmd.IssuedAtLeeway (30 s) ahead of the pod's clock, so a command
// accepted now lives up to MaxLifetime + IssuedAtLeeway. When its entry is
// lost (a checksum that fails), the cache refuses every jti for
// MaxLifetime only, then forgets that it knew nothing: for the last 30 s
// of the command's life, a replay of it is accepted. The pod, as
// cmd/podd wires it, must refuse a replay for as long as the command
// lives.
func TestAReplayIsRefusedForTheWholeLifeOfACommandWhoseEntryWasLost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	clock := newTestClock(t0)
	k, err := hubclient.GenerateKey("hub-1")
	if err != nil {
		t.Fatal(err)
	}
	set, err := hubclient.PublicSet(k)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := hubcmd.ParseKeySet(set)
	if err != nil {
		t.Fatal(err)
	}
	// The hub's clock is 25 s ahead of the pod's: within the leeway.
	signer, err := hubclient.NewSigner(k, hubclient.Options{Lifetime: hubcmd.MaxLifetime, Now: func() time.Time { return clock.now().Add(25 * time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := signer.Sign(hubcmd.TelemetryInterval{Interval: 5 * time.Second}, "p1")
	if err != nil {
		t.Fatal(err)
	}
	verifier := func(c *ReplayCache) *hubcmd.Verifier {
		v, err := hubcmd.NewVerifier(hubcmd.VerifierConfig{PodID: "p1", Keys: keys, Replay: c})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cache := func() (*Slot, *ReplayCache) {
		sl := NewSlot()
		t.Cleanup(func() { _ = sl.Close() })
		if err := sl.Set(open(t, path, nil)); err != nil {
			t.Fatal(err)
		}
		c, err := NewReplayCache(sl, ReplayLimits{Lifetime: hubcmd.MaxRemainingLife}, clock.now) // as cmd/podd
		if err != nil {
			t.Fatal(err)
		}
		return sl, c
	}

	sl, c := cache()
	if _, err := verifier(c).Verify(tok.Raw, clock.now(), true); err != nil {
		t.Fatalf("the hub's command: %v", err)
	}
	_ = sl.Close()

	// A damaged page changes a byte of its entry.
	v := encodeJTI([]byte(tok.ID), tok.Expires)
	v[7] ^= 0x10
	putJTIValue(t, path, []byte(tok.ID), v)

	clock.add(time.Second)
	_, c = cache()
	if _, err := c.Seen("probe", clock.now().Add(time.Minute)); !errors.Is(err, ErrReplayUnknown) {
		t.Fatalf("Seen with the corrupt entry: %v, want ErrReplayUnknown", err)
	}
	clock.add(hubcmd.MaxLifetime + time.Second) // the command still lives
	if !clock.now().Before(tok.Expires) {
		t.Fatalf("the command expired at %s, before the replay at %s", tok.Expires, clock.now())
	}
	if _, err := verifier(c).Verify(tok.Raw, clock.now(), true); err == nil {
		t.Fatalf("a replay of %s at %s, before its exp %s, was accepted", tok.ID, clock.now().Format(time.RFC3339), tok.Expires.Format(time.RFC3339))
	}
}
