package api

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sleegation/podd/controller"
)

// Consent is the sleeper's consent, as the pod reports it.
type Consent = controller.Consent

// ConsentRequest is the body of POST /v1/consent: {"action": "grant"},
// optionally with "for": a Go duration ("8h", "90m") within the pod's
// bounds (controller.MinConsentDuration..MaxConsentDuration; left out, the
// pod's session.consent_duration), or {"action": "withdraw"}.
type ConsentRequest struct {
	Action string `json:"action"`
	For    string `json:"for,omitempty"`
}

// ConsentReply is the reply of POST /v1/consent.
type ConsentReply struct {
	OK      bool    `json:"ok"`
	Consent Consent `json:"consent"`
	Error   string  `json:"error,omitempty"`
}

// maxConsentBody bounds a consent request's body: the largest valid one is
// about 40 bytes.
const maxConsentBody = 1024

// ParseConsentRequest decodes and checks a consent request: one JSON object
// with action "grant" or "withdraw", "for" only with a grant, no other key,
// nothing after it, at most maxConsentBody bytes. It returns the action and
// the duration (0 when left out). A bad request changes nothing: the error
// says what is wrong.
func ParseConsentRequest(r io.Reader) (action string, d time.Duration, err error) {
	var req ConsentRequest
	if _, err := decodeRequest(r, maxConsentBody, false, &req, `request is not a consent object (want {"action": "grant"|"withdraw", "for": "8h"})`); err != nil {
		return "", 0, err
	}
	switch req.Action {
	case "grant":
		if req.For == "" {
			return req.Action, 0, nil
		}
		d, err := time.ParseDuration(req.For)
		if err != nil {
			return "", 0, fmt.Errorf("for %q is not a duration (write e.g. 8h or 90m)", req.For)
		}
		if d < controller.MinConsentDuration || d > controller.MaxConsentDuration {
			return "", 0, fmt.Errorf("for %v is outside %v..%v", d, controller.MinConsentDuration, controller.MaxConsentDuration)
		}
		return req.Action, d, nil
	case "withdraw":
		if req.For != "" {
			return "", 0, errors.New(`"for" goes only with a grant`)
		}
		return req.Action, 0, nil
	}
	return "", 0, fmt.Errorf("action %q: want grant or withdraw", req.Action)
}
