package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/hubcmd"
)

// Identifier is a pod that shows a light for a technician to find it
// (controller.Pod.Identify): through the show's photosensitivity guard,
// refused while someone may lie in the pod, during a merge, with an abort
// latched or with the outputs in their safe state.
type Identifier interface {
	Identify(d time.Duration) error
}

// IdentifyRequest is the body of POST /v1/identify: {"duration_s": 10},
// whole seconds, hubcmd.MinIdentify..MaxIdentify (1..120); 0 or absent is
// controller.DefaultIdentify (10 s).
type IdentifyRequest struct {
	DurationS int64 `json:"duration_s,omitempty"`
}

// IdentifyReply is the reply of POST /v1/identify: the light shown for
// DurationS seconds, or why not (Reasons: the pod's refusal reasons,
// controller.RefusedError).
type IdentifyReply struct {
	OK        bool     `json:"ok"`
	DurationS int64    `json:"duration_s,omitempty"`
	Error     string   `json:"error,omitempty"`
	Reasons   []string `json:"reasons,omitempty"`
}

// maxIdentifyBody bounds an identify request's body.
const maxIdentifyBody = 128

// ParseIdentifyRequest decodes and checks an identify request: empty (the
// default duration), or one JSON object with at most duration_s, nothing
// after it, at most maxIdentifyBody bytes. It returns the duration.
func ParseIdentifyRequest(r io.Reader) (time.Duration, error) {
	var req IdentifyRequest
	if _, err := decodeRequest(r, maxIdentifyBody, true, &req, `request is not an identify object (want {"duration_s": 1..120})`); err != nil {
		return 0, err
	}
	if req.DurationS == 0 {
		return controller.DefaultIdentify, nil
	}
	lo, hi := int64(hubcmd.MinIdentify/time.Second), int64(hubcmd.MaxIdentify/time.Second)
	if req.DurationS < lo || req.DurationS > hi {
		return 0, fmt.Errorf("duration_s %d: want %d..%d", req.DurationS, lo, hi)
	}
	return time.Duration(req.DurationS) * time.Second, nil
}

func (s *Server) identify(w http.ResponseWriter, r *http.Request) {
	d, err := ParseIdentifyRequest(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, IdentifyReply{Error: err.Error()})
		return
	}
	id, ok := s.pod.(Identifier)
	if !ok {
		writeJSON(w, http.StatusNotImplemented, IdentifyReply{Error: "this pod shows no identify light"})
		return
	}
	err = id.Identify(d)
	var refused *controller.RefusedError
	switch {
	case errors.As(err, &refused):
		writeJSON(w, http.StatusConflict, IdentifyReply{Error: err.Error(), Reasons: refused.Reasons})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, IdentifyReply{Error: err.Error()})
	default:
		s.log.Info("identify asked on the local API", "for", d)
		writeJSON(w, http.StatusOK, IdentifyReply{OK: true, DurationS: int64(d / time.Second)})
	}
}

// Identify asks the pod to show its identify light for d (0: the pod's
// default, 10 s). A refusal is returned with its reasons and an error
// wrapping ErrRefused.
func (c *Client) Identify(ctx context.Context, d time.Duration) (IdentifyReply, error) {
	var r IdentifyReply
	err := c.post(ctx, "/v1/identify", "identify", IdentifyRequest{DurationS: int64(d / time.Second)}, &r, func() string { return r.Error })
	return r, err
}
