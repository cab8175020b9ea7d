package controller

import (
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
)

// retained is the last state and since the pod gave its uplink for the
// retained status.
func (u *fakeUplink) retained() (string, time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.statuses) == 0 {
		return "", time.Time{}
	}
	return u.statuses[len(u.statuses)-1], u.sinces[len(u.sinces)-1]
}

// Finding: after a restart, podctl status and the retained MQTT status
// disagreed about since. Both now come from the controller's state: from
// New ("starting" since the pod was made) and, with a stored latch, aborted
// since the abort itself, not since the restart; the state event is still
// reported at the restart's time.
func TestAfterARestartTheStatusAndTheRetainedStatusAgreeOnSince(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		stored := safety.Abort{Rule: safety.RuleHeartRateHigh, Detail: "heart_rate_bpm 151.0 above 130", At: start.Add(-47 * time.Minute)}
		b, err := json.Marshal(stored)
		if err != nil {
			t.Fatal(err)
		}
		r := newRigWith(t, tachycardia, &memStore{latch: b}, rigOpts{})
		defer r.stop()
		r.up.mu.Lock()
		first, firstSince := r.up.statuses[0], r.up.sinces[0]
		r.up.mu.Unlock()
		if first != StateStarting || !firstSince.Equal(r.pod.started) {
			t.Fatalf("the first retained status is %s since %v, want starting since the pod's start %v", first, firstSince, r.pod.started)
		}
		until(start, 2*time.Second)
		st := r.pod.Status()
		state, since := r.up.retained()
		if st.State != StateAborted || state != StateAborted || !st.Since.Equal(stored.At) || !since.Equal(stored.At) {
			t.Fatalf("status %s since %v, retained %s since %v; want both aborted since the abort, %v", st.State, st.Since, state, since, stored.At)
		}
		r.up.mu.Lock()
		defer r.up.mu.Unlock()
		for i, e := range r.up.events {
			if e.Type == "state" && e.Fields["to"] == StateAborted && r.up.times[i].Before(start) {
				t.Fatalf("the state event is dated %v, before the restart at %v", r.up.times[i], start)
			}
		}
	})
}

// Status shows the pod's uptime, and, while a latched abort cannot be
// acknowledged, why: the condition still present, with its value.
func TestStatusShowsUptimeAndWhyAnAckWouldBeRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, tachycardia, &memStore{})
		defer r.stop()
		until(start, 10*time.Second)
		st := r.pod.Status()
		if !st.Started.Equal(start) || st.UptimeS != 10 {
			t.Fatalf("started %v, uptime %v s; want %v and 10 s", st.Started, st.UptimeS, start)
		}
		if st.Safety.Latched != nil || st.Safety.AckBlocked != "" {
			t.Fatalf("before the abort: latched %+v, ack blocked %q", st.Safety.Latched, st.Safety.AckBlocked)
		}
		for i := 0; i < 60 && r.pod.Status().Safety.Latched == nil; i++ {
			time.Sleep(time.Second)
			synctest.Wait()
		}
		st = r.pod.Status()
		if st.Safety.Latched == nil || st.Safety.AckBlocked == "" {
			t.Fatalf("after the climb: latched %+v, ack blocked %q; want a latch and the reason an ack is refused", st.Safety.Latched, st.Safety.AckBlocked)
		}
		if err := r.pod.wd.CanAck(); err == nil || err.Error() != "safety: cannot acknowledge while "+st.Safety.AckBlocked {
			t.Fatalf("CanAck = %v, status says %q", err, st.Safety.AckBlocked)
		}
	})
}
