package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/sleegation/podd/controller"
)

// SelfTest is a self-test the pod began (controller.SelfTest).
type SelfTest = controller.SelfTest

// SelfTester is a pod that plays self-tests of its outputs
// (controller.Pod.SelfTest).
type SelfTester interface {
	SelfTest(what string) (SelfTest, error)
}

// SelfTestRequest is the body of POST /v1/selftest: {"what": "lights"},
// {"what": "haptics"} or {"what": "sensors"}.
type SelfTestRequest struct {
	What string `json:"what"`
}

// SelfTestReply is the reply of POST /v1/selftest: the test begun (lights,
// haptics) or the sensors read (sensors), or why not (Reasons: the pod's
// refusal reasons, controller.RefusedError).
type SelfTestReply struct {
	OK       bool      `json:"ok"`
	SelfTest *SelfTest `json:"selftest,omitempty"`
	// Sensors is the sensors' self-test (what "sensors").
	Sensors *SensorSelfTest `json:"sensors,omitempty"`
	Error   string          `json:"error,omitempty"`
	Reasons []string        `json:"reasons,omitempty"`
}

// maxSelfTestBody bounds a self-test request's body.
const maxSelfTestBody = 256

// ParseSelfTestRequest decodes and checks a self-test request: one JSON
// object with what "lights", "haptics" or "sensors", no other key, nothing after it,
// at most maxSelfTestBody bytes.
func ParseSelfTestRequest(r io.Reader) (string, error) {
	var req SelfTestRequest
	if _, err := decodeRequest(r, maxSelfTestBody, false, &req, `request is not a self-test object (want {"what": "lights"|"haptics"|"sensors"})`); err != nil {
		return "", err
	}
	if req.What != controller.SelfTestLights && req.What != controller.SelfTestHaptics && req.What != SelfTestSensors {
		return "", fmt.Errorf("what %q: want lights, haptics or sensors", req.What)
	}
	return req.What, nil
}

func (s *Server) selfTest(w http.ResponseWriter, r *http.Request) {
	what, err := ParseSelfTestRequest(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, SelfTestReply{Error: err.Error()})
		return
	}
	if what == SelfTestSensors {
		s.sensorSelfTest(w, r)
		return
	}
	st, ok := s.pod.(SelfTester)
	if !ok {
		writeJSON(w, http.StatusNotImplemented, SelfTestReply{Error: "this pod plays no self-test"})
		return
	}
	t, err := st.SelfTest(what)
	var refused *controller.RefusedError
	switch {
	case errors.As(err, &refused):
		writeJSON(w, http.StatusConflict, SelfTestReply{Error: err.Error(), Reasons: refused.Reasons})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, SelfTestReply{Error: err.Error()})
	default:
		writeJSON(w, http.StatusOK, SelfTestReply{OK: true, SelfTest: &t})
	}
}

// SelfTest asks the pod to play the self-test of what ("lights" or
// "haptics"), or to read its sensors ("sensors": the reply comes after
// SensorWindow). A refusal is returned with its reasons and a non-nil error.
func (c *Client) SelfTest(ctx context.Context, what string) (SelfTestReply, error) {
	var r SelfTestReply
	err := c.post(ctx, "/v1/selftest", "selftest", SelfTestRequest{What: what}, &r, func() string { return r.Error })
	return r, err
}
