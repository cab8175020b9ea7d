package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/controller"
)

// checkPod counts its sensor checks and stamps each with its number.
type checkPod struct {
	fakePod
	n atomic.Int64
}

func (p *checkPod) SensorCheck() controller.SensorCheck {
	n := p.n.Add(1)
	return controller.SensorCheck{At: time.Now(), Sensors: []controller.SensorCheckEntry{{SensorStatus: controller.SensorStatus{Name: "max30102", State: "ok", PollErrors: uint64(n)}}}}
}

// The sensors' self-test reads the pod's sensors twice, SensorWindow
// apart, and replies both reads.
func TestTheSensorSelfTestReadsTheSensorsAWindowApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pod := &checkPod{}
		h := NewServer(pod, "unused", nil).Handler()
		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/selftest", strings.NewReader(`{"what":"sensors"}`)))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var r SelfTestReply
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		s := r.Sensors
		if !r.OK || s == nil || !s.First.At.Equal(start) || !s.Last.At.Equal(start.Add(SensorWindow)) {
			t.Fatalf("reply %+v: want two reads at %v and %v later", r, start, SensorWindow)
		}
		if s.First.Sensors[0].PollErrors != 1 || s.Last.Sensors[0].PollErrors != 2 || pod.n.Load() != 2 {
			t.Fatalf("reads %+v then %+v (%d in all): want the first and the second", s.First, s.Last, pod.n.Load())
		}
	})
}
