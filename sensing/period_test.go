package sensing

import (
	"testing"
	"testing/synctest"
	"time"
)

// A poll that takes time (a conversion the driver waits for, as the
// ADS1115's Read) does not slow the sensor: polls start every Period, so
// the estimator's time base holds (skin conductance at 10 sps read 9.3
// conversions a second when the Period was counted from the end of each
// poll). A poll longer than the Period is followed at once.
func TestPeriodRunsFromTheStartOfEachPoll(t *testing.T) {
	for _, tt := range []struct {
		name      string
		pollTakes time.Duration
		want      []time.Duration
	}{
		{"shorter", 30 * time.Millisecond, []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}},
		{"longer", 150 * time.Millisecond, []time.Duration{0, 150 * time.Millisecond, 300 * time.Millisecond, 450 * time.Millisecond}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, sensor(), nil, func(time.Duration) (Poll, error) {
					time.Sleep(tt.pollTakes)
					return Poll{Fresh: true}, nil
				})
				r.run(10 * time.Second)
				r.mu.Lock()
				defer r.mu.Unlock()
				if len(r.polls) < len(tt.want) {
					t.Fatalf("polls at %v, want them to start %v", r.polls, tt.want)
				}
				for i, at := range tt.want {
					if r.polls[i] != at {
						t.Errorf("polls at %v, want them to start %v", r.polls[:len(tt.want)], tt.want)
						break
					}
				}
				// A poll due at 10 s, as the run ends, may or may not start.
				wantN := int(10*time.Second/max(tt.pollTakes, sensor().Period)) + 1
				if len(r.polls) != wantN && len(r.polls) != wantN-1 {
					t.Errorf("%d polls in 10 s, want %d", len(r.polls), wantN)
				}
			})
		})
	}
}
