package api

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/controller"
)

// identifyPod is a pod whose Identify answers err and records each
// duration asked.
type identifyPod struct {
	fakePod
	err   error
	asked []time.Duration
}

func (p *identifyPod) Identify(d time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, d)
	return p.err
}

func TestParseIdentifyRequest(t *testing.T) {
	for _, c := range []struct {
		in  string
		d   time.Duration
		err string
	}{
		{``, controller.DefaultIdentify, ""},
		{`{}`, controller.DefaultIdentify, ""},
		{`{"duration_s":30}`, 30 * time.Second, ""},
		{`{"duration_s":121}`, 0, "duration_s 121: want 1..120"},
		{`{"duration_s":-1}`, 0, "duration_s -1: want 1..120"},
		{`{"duration_s":"5"}`, 0, `request is not an identify object (want {"duration_s": 1..120}): json: cannot unmarshal string into Go struct field IdentifyRequest.duration_s of type int64`},
		{`{"for":5}`, 0, `request is not an identify object (want {"duration_s": 1..120}): json: unknown field "for"`},
		{`{} {}`, 0, "request has data after its object"},
		{strings.Repeat(" ", 200), 0, "request larger than 128 bytes"},
	} {
		d, err := ParseIdentifyRequest(strings.NewReader(c.in))
		if d != c.d || (err == nil) != (c.err == "") || err != nil && err.Error() != c.err {
			t.Errorf("ParseIdentifyRequest(%.40q) = %v, %v; want %v, %q", c.in, d, err, c.d, c.err)
		}
	}
}

func FuzzParseIdentifyRequest(f *testing.F) {
	f.Add(`{"duration_s":10}`)
	f.Add(`{"duration_s":1e3}`)
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ParseIdentifyRequest(strings.NewReader(in))
		if err == nil && (d < time.Second || d > 2*time.Minute || d%time.Second != 0) {
			t.Fatalf("accepted %v", d)
		}
		if err != nil && d != 0 {
			t.Fatalf("an error with duration %v", d)
		}
	})
}

func TestIdentifyOverTheSocket(t *testing.T) {
	pod := &identifyPod{}
	c, _ := serve(t, pod)
	r, err := c.Identify(context.Background(), 20*time.Second)
	if err != nil || !r.OK || r.DurationS != 20 {
		t.Fatalf("Identify = %+v, %v; want ok for 20 s", r, err)
	}
	if !slices.Equal(pod.asked, []time.Duration{20 * time.Second}) {
		t.Fatalf("the pod was asked %v, want [20s]", pod.asked)
	}
}

// During a merge the pod refuses (controller.Pod.Identify: busy); the API
// answers 409 with the pod's reasons, and the client's error is a
// refusal.
func TestIdentifyDuringASessionIsRefusedWithThePodsReasons(t *testing.T) {
	pod := &identifyPod{err: &controller.RefusedError{Reasons: []string{controller.RefuseOccupied, controller.RefuseBusy}, Detail: "in merge m-1 (merged)"}}
	c, _ := serve(t, pod)
	r, err := c.Identify(context.Background(), 0)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("Identify err = %v, want ErrRefused", err)
	}
	if r.OK || !slices.Equal(r.Reasons, []string{"occupied", "busy"}) || !strings.Contains(r.Error, "in merge m-1") {
		t.Fatalf("reply %+v: want refused occupied, busy, naming the merge", r)
	}
}
