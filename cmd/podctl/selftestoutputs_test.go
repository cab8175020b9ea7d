package main

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
)

// selfTestPod plays a lights self-test of canopy and floor whose floor's
// PWM controller refuses its frames: its status shows the test running
// for the first two reads, then ended (why).
type selfTestPod struct {
	ackPod
	why   string
	mu    sync.Mutex
	reads int
}

var selfTestStart = time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)

func (p *selfTestPod) SelfTest(what string) (controller.SelfTest, error) {
	return controller.SelfTest{What: what, Order: []string{"canopy", "floor"}, Takes: 6 * time.Second}, nil
}

func (p *selfTestPod) Status() api.Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reads++
	o := &controller.SelfTestOutcome{What: controller.SelfTestLights, Started: selfTestStart, Frames: 120,
		Outputs: []controller.OutputOutcome{{Name: "canopy"}, {Name: "floor", Error: "pca9685 at 0x40: nack"}}}
	if p.reads > 2 {
		o.Ended, o.Why, o.Frames = selfTestStart.Add(6*time.Second), p.why, 300
	}
	return api.Status{Show: &api.ShowStatus{LastSelfTest: o}}
}

// podctl selftest lights says what plays, follows the test to its end in
// podd's status and gives a line per zone: the floor's device refused its
// frames, so it fails (exit status 5); a test cut short fails too.
func TestSelfTestLightsJudgesEachZone(t *testing.T) {
	for _, c := range []struct {
		why  string
		want string
	}{
		{"done", `selftest   lights: canopy, floor, each in turn, 6s in all; watch them
PASS  zone canopy  its device took all 300 frames of the test
FAIL  zone floor   its device refused frames: pca9685 at 0x40: nack
                   fix: podctl doctor checks its chip and bus (podd stopped: podctl scan lists what answers)
`},
		{"the outputs went to their safe state", `selftest   lights: canopy, floor, each in turn, 6s in all; watch them
PASS  zone canopy      its device took all 300 frames of the test
FAIL  zone floor       its device refused frames: pca9685 at 0x40: nack
                       fix: podctl doctor checks its chip and bus (podd stopped: podctl scan lists what answers)
FAIL  selftest lights  cut short: the outputs went to their safe state
                       fix: run it again with the pod empty and its outputs open
`},
	} {
		pod := &selfTestPod{why: c.why}
		var out strings.Builder
		root := newRoot(&out)
		root.SetArgs([]string{"--socket", serveAPI(t, pod), "selftest", "lights"})
		if err := root.Execute(); !errors.Is(err, errChecksFailed) {
			t.Errorf("%s: err %v, want errChecksFailed", c.why, err)
		}
		if out.String() != c.want {
			t.Errorf("%s: podctl printed\n%s\nwant\n%s", c.why, out.String(), c.want)
		}
		if pod.reads != 3 {
			t.Errorf("%s: podctl read the status %d times, want 3 (until the test ended)", c.why, pod.reads)
		}
	}
}
