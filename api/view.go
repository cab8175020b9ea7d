package api

import (
	"slices"
	"time"

	"github.com/sleegation/podd/safety"
)

// Rules are the safety rules in the order of the README's table: the
// rows of the status page's rule table and the rule label of
// podd_rule_state.
var Rules = []string{
	safety.RuleHeartRateHigh, safety.RuleHeartRateLow, safety.RuleSpO2Low, safety.RuleSpO2Critical,
	safety.RuleVitalsStale, safety.RuleSensorStale, safety.RulePipeline, safety.RuleHeartRateRise,
	safety.RuleTempLow, safety.RuleTempHigh, safety.RuleStress, safety.RuleEEGArousal, safety.RuleStabilityLow,
}

// Rule states, as RuleState.State gives them.
const (
	RuleDisarmed = "disarmed" // cannot trip now (outside a merge, an empty pod, before a baseline)
	RuleArmed    = "armed"    // can trip; no alarm condition
	RulePending  = "pending"  // its alarm delay is running
	RuleLatched  = "latched"  // it tripped: the latched abort is its
)

// RuleState is one safety rule's state.
type RuleState struct {
	Rule  string `json:"rule"`
	State string `json:"state"`
}

// RuleStates returns the state of each of Rules from the watchdog's part
// of a Status: latched when the latched abort is the rule's, else pending
// when its alarm delay runs, else armed or disarmed.
func RuleStates(s SafetyStatus) []RuleState {
	out := make([]RuleState, len(Rules))
	for i, r := range Rules {
		st := RuleDisarmed
		switch {
		case s.Latched != nil && s.Latched.Rule == r:
			st = RuleLatched
		case slices.Contains(s.Pending, r):
			st = RulePending
		case slices.Contains(s.Armed, r):
			st = RuleArmed
		}
		out[i] = RuleState{Rule: r, State: st}
	}
	return out
}

// View is one event of the status page's stream (GET /v1/stream): the
// pod's Status as GET /v1/status serves it, with the pod's wall-clock time
// it was read at and each rule's state. The sleeper's vitals are in it
// only when they are exposed (api.expose_vitals); otherwise vitals is
// absent and so are the values that reveal them elsewhere: the session's
// baseline and the latched abort's values and detail (its rule, limit and
// times stay).
type View struct {
	Status
	// Time is the pod's wall clock when Status was read (RFC 3339).
	Time  time.Time   `json:"time"`
	Rules []RuleState `json:"rules"`
	// VitalsExposed says whether the pod exposes the sleeper's vitals on
	// this listener (api.expose_vitals).
	VitalsExposed bool `json:"vitals_exposed"`
	// Vitals are Status.Vitals when exposed; absent otherwise.
	Vitals *Vitals `json:"vitals,omitempty"`
}

// NewView returns the view of st read at now, with its vitals only when
// exposeVitals is set. It does not modify st.
func NewView(st Status, now time.Time, exposeVitals bool) View {
	v := View{Status: st, Time: now, Rules: RuleStates(st.Safety), VitalsExposed: exposeVitals}
	if exposeVitals {
		vit := st.Vitals
		v.Vitals = &vit
		return v
	}
	v.Status.Vitals = Vitals{}
	if st.Session != nil && st.Session.Baseline != nil {
		s := *st.Session
		s.Baseline = nil
		v.Session = &s
	}
	if st.Safety.Latched != nil {
		a := *st.Safety.Latched
		a.Values, a.Detail = nil, ""
		v.Safety.Latched = &a
	}
	// The watchdog's reason for refusing an ack quotes the live values
	// ("heart_rate_bpm 150.0 is not below 125"): only that it refuses
	// stays.
	if st.Safety.AckBlocked != "" {
		v.Safety.AckBlocked = AckBlockedHidden
	}
	return v
}

// AckBlockedHidden is a View's Safety.AckBlocked when the vitals are not
// exposed and the watchdog would refuse an ack: its own reason quotes the
// sleeper's values.
const AckBlockedHidden = "an alarm condition is still present (its values are hidden: api.expose_vitals)"
