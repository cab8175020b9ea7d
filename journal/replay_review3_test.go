package journal

import (
	"errors"
	"os"
	"testing"
	"time"
)

// "The fresh store put in place of a damaged file starts with the same
// mark, at the time of the recovery ... until ReplayLimits.Lifetime has
// passed, by when every command accepted before has expired, Seen refuses
// every jti" (package doc, "The replay cache"). The recovery runs at Open,
// at boot, by whatever the clock says then; a Pi after a power cut boots
// with its clock behind (1970, or fake-hwclock's last save) until NTP
// steps it. The mark is dated by that clock, so when the clock is
// synchronised, and the verifier first checks a jti, the mark has long
// passed: the commands the damaged file had recorded in its last ten
// minutes, still unexpired, are accepted again when replayed. Here the
// recovery ran with the clock an hour behind; the first Seen after the
// step must still refuse.
func TestAFreshStoreAfterDamageKnowsNoJTIForALifetimeOfTheClockThatChecksThem(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 50, nil)
	if err := os.Truncate(fx.path, 0); err != nil {
		t.Fatal(err)
	}
	s, rec := openDamaged(t, fx)
	sl := NewSlot()
	if err := sl.Set(s); err != nil {
		t.Fatal(err)
	}
	// NTP has stepped the clock an hour forward since the recovery: by the
	// true time, the recovery was a few seconds ago.
	clock := newTestClock(rec.At.Add(time.Hour + 5*time.Second))
	c, err := NewReplayCache(sl, ReplayLimits{Lifetime: testLifetime}, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	// A command accepted just before the power cut, replayed now.
	if seen, err := c.Seen("accepted-before-the-cut", clock.now().Add(9*time.Minute)); !errors.Is(err, ErrReplayUnknown) {
		t.Fatalf("Seen on a fresh store, 5 s after its recovery by the synchronised clock = %v, %v; want ErrReplayUnknown", seen, err)
	}
}
