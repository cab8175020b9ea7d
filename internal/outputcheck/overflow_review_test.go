package outputcheck

import (
	"math"
	"testing"
	"time"

	"github.com/sleegation/podd/sim"
)

// FromRecord checks a strip zone against the frame's length with
// z.First+z.Count, which overflows for a zone at the end of the int range
// (a zone configs accepts: see configs' review test): the check passes and
// the slice panics, so cmd/outputcheck crashes instead of judging or
// naming the problem. Correct: such a zone is an error naming the zone and
// the frame, as a zone beyond the strip is.
func TestAZoneBeyondTheIntRangeIsAnError(t *testing.T) {
	frames := []sim.OutputFrame{{T: time.Unix(0, 0), Device: StripDevice, LEDs: make([][4]uint8, 60)}}
	zones := []Zone{{Name: "b", First: math.MaxInt, Count: 1}}
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("FromRecord panicked: %v; want an error naming zone b", r)
		}
	}()
	if _, err := FromRecord(zones, frames); err == nil {
		t.Errorf("FromRecord accepted zone b at LED %d; want an error", math.MaxInt)
	}
}
