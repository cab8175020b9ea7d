package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// While an abort is latched and the vitals keep it from being
// acknowledged, Status.Safety.AckBlocked holds the watchdog's reason with
// the sleeper's live values ("heart_rate_bpm 150.0 is not below 125",
// "spo2_pct 86.0 is not above 92", "body_temp_c 35.10 ...":
// safety.Watchdog.describeLocked, copied by controller.Pod.Status).
//
// Wrong: NewView (api/view.go) clears Vitals, the baseline and the latched
// abort's values and detail when api.expose_vitals is false, but keeps
// AckBlocked, so the status page's stream on the loopback listener, which
// any local user can read, carries the sleeper's heart rate and SpO2
// about once a second for as long as the abort stays latched.
//
// Correct: without ExposeVitals the view carries no value of a vital; the
// fact that an ack would be refused may stay (e.g. AckBlocked reduced to
// the names of the conditions: "heart_rate_bpm, spo2_pct"), the numbers
// may not.
func TestReviewViewHidesTheVitalsInAckBlocked(t *testing.T) {
	st := fullStatus()
	st.Safety.AckBlocked = "heart_rate_bpm 150.0 is not below 125, spo2_pct 86.0 is not above 92"
	v := NewView(st, time.Unix(0, 0), false)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []string{"150.0", "86.0"} {
		if strings.Contains(string(b), x) {
			t.Errorf("a view without vitals holds the vital value %s (ack_blocked %q)", x, v.Safety.AckBlocked)
		}
	}

	// On the wire: the stream of a listener with expose_vitals false.
	url, stop := serveReal(t, &statusPod{st: st}, PageOptions{StatusPage: true})
	defer stop()
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	_, first, closeStream := openStream(t, c, url)
	defer closeStream()
	if first.VitalsExposed {
		t.Fatal("the stream says the vitals are exposed")
	}
	if strings.Contains(first.Safety.AckBlocked, "150.0") {
		t.Errorf("the status stream (expose_vitals false) carries the sleeper's heart rate: ack_blocked %q", first.Safety.AckBlocked)
	}
}
