package api

import (
	"net/http"
	"time"

	"github.com/sleegation/podd/controller"
)

// SelfTestSensors is the self-test that reads the sensors
// ({"what": "sensors"}).
const SelfTestSensors = "sensors"

// SensorWindow is how long the sensors' self-test watches the sensors:
// the two reads of SensorSelfTest are this far apart. Every sensor but
// the EEG (self-paced) is polled at least once a second.
const SensorWindow = 3 * time.Second

// SensorChecker is a pod that reports its sensors for a self-test
// (controller.Pod.SensorCheck). It touches no bus: podd's own loops keep
// reading the sensors, so the test is as gentle as the night's reading.
type SensorChecker interface {
	SensorCheck() controller.SensorCheck
}

// SensorSelfTest is the sensors' self-test as the pod saw it: its sensors
// read at the start (First) and SensorWindow later (Last). The judgement
// (data flowing, values plausible, the red/IR wiring) is the client's,
// the same for a pod whose podd is not running (package doctor).
type SensorSelfTest struct {
	First controller.SensorCheck `json:"first"`
	Last  controller.SensorCheck `json:"last"`
}

func (s *Server) sensorSelfTest(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.pod.(SensorChecker)
	if !ok {
		writeJSON(w, http.StatusNotImplemented, SelfTestReply{Error: "this pod reports no sensor check"})
		return
	}
	first := sc.SensorCheck()
	t := time.NewTimer(SensorWindow)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return
	case <-t.C:
	}
	writeJSON(w, http.StatusOK, SelfTestReply{OK: true, Sensors: &SensorSelfTest{First: first, Last: sc.SensorCheck()}})
}
