package controller

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/uplink"
)

// States of a merge session (see the package doc, "Sessions").
const (
	// StateBaseline: the merge was accepted; the sleeper's baseline vitals
	// are being captured before the pod joins.
	StateBaseline = "baseline"
	// StateMerged: the pod is in the merge.
	StateMerged = "merged"
	// StateEnding: the merge is over; the dreamscape fades, a gentle wake.
	StateEnding = "ending"
)

// Defaults and bounds of SessionConfig. The bounds are what configs
// validates against.
const (
	DefaultBaselineDuration = time.Minute
	MinBaselineDuration     = 10 * time.Second
	MaxBaselineDuration     = 5 * time.Minute

	DefaultEndingDuration = time.Minute
	MinEndingDuration     = 5 * time.Second
	MaxEndingDuration     = 10 * time.Minute

	// DefaultConsentDuration is how long a grant of consent without an
	// expiry (a press of the consent button) lasts: one night.
	DefaultConsentDuration = 12 * time.Hour
	MinConsentDuration     = time.Minute
	MaxConsentDuration     = 24 * time.Hour

	// MinMergeDuration and MaxMergeDuration bound a merge/start's maximum
	// duration.
	MinMergeDuration = time.Minute
	MaxMergeDuration = 12 * time.Hour
	// MaxStartDelay is how far in the future a merge/start's start time
	// may be.
	MaxStartDelay = time.Hour

	// LinkLossLimit is how long the city link may be lost during a merge
	// before the pod ends the merge itself, gracefully (the MQTT contract).
	// The city link is the broker connection and, with
	// uplink.require_hub, the hub online behind it (cityLink).
	LinkLossLimit = 30 * time.Second
)

// sessionTick is how often the session loop checks its clocks (baseline,
// maximum duration, consent expiry, the city link) and the watchdog's latch.
const sessionTick = 200 * time.Millisecond

// SessionConfig tunes the merge sessions; zero fields take the defaults.
type SessionConfig struct {
	// BaselineDuration is how long the sleeper's vitals are captured
	// before the pod joins a merge.
	BaselineDuration time.Duration
	// EndingDuration is how long the gentle wake after a merge lasts.
	EndingDuration time.Duration
	// ConsentDuration is how long a grant without an expiry lasts.
	ConsentDuration time.Duration
}

func (c *SessionConfig) resolve() {
	if c.BaselineDuration <= 0 {
		c.BaselineDuration = DefaultBaselineDuration
	}
	if c.EndingDuration <= 0 {
		c.EndingDuration = DefaultEndingDuration
	}
	if c.ConsentDuration <= 0 {
		c.ConsentDuration = DefaultConsentDuration
	}
}

// MergeRequest is a hub's merge/start, once verified.
type MergeRequest struct {
	// Session is the merge's id: letters, digits, '-' and '_', at most 64
	// (it becomes an MQTT topic level; the same rule as package hubcmd).
	Session string
	// Dreamscape names the program the pod plays during the merge.
	Dreamscape string
	// StartAt is when the pod joins the merge (wall clock), at most
	// MaxStartDelay ahead; zero joins as soon as the baseline is captured.
	StartAt time.Time
	// MaxDuration is how long the pod stays merged at most, within
	// MinMergeDuration..MaxMergeDuration; the pod then ends the merge itself.
	MaxDuration time.Duration
}

// Reasons a merge/start is refused, as RefusedError.Reason gives them.
const (
	RefuseNoConsent  = "no_consent"  // no current local consent
	RefuseLatched    = "latched"     // an abort is latched
	RefuseStarting   = "starting"    // the stored latch has not been read yet
	RefuseSensors    = "sensors"     // no valid vitals now, or a sensor fault
	RefuseBusy       = "busy"        // a merge is already under way
	RefuseBadRequest = "bad_request" // the request itself is invalid
	RefuseNoSession  = "no_session"  // merge/end or merge/abort of a merge the pod is not in
)

// RefusedError is a merge command the pod refused: nothing changed.
// Reasons lists every condition that failed, each one of the Refuse*
// constants; Detail says more, for people.
type RefusedError struct {
	Reasons []string
	Detail  string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused (%s): %s", strings.Join(e.Reasons, ", "), e.Detail)
}

// Unwrap makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Unwrap() error { return ErrRefused }

// Consent is the sleeper's consent to join merges, as Status reports it.
type Consent struct {
	Granted bool `json:"granted"`
	// ExpiresAt is when a granted consent lapses (wall clock).
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Source is who gave or withdrew it last: "button", "api", or
	// "expiry", "panic" and "abort" for the pod's own withdrawals.
	Source string `json:"source,omitempty"`
}

// Baseline is the sleeper's vitals captured before a merge: the mean of
// the valid readings of the last BaselineDuration before the pod joined,
// as the session loop finds them at each of its ticks, each reading
// counted once (Readings of them: at most one per sensor poll, 300 a
// minute). A merge whose start time
// lies far ahead is joined with the baseline of the minute before it, not
// of the whole wait.
//
// The other sensors' vitals are the mean of their valid estimates of the
// same span, each counted once, and are left out (nil) when their sensor
// gave none: the tonic skin conductance (µS), the body temperature at
// the thermometer's site (°C, without the core offset) and the EEG's
// beta/alpha power ratio.
type Baseline struct {
	HeartRateBPM      float64  `json:"heart_rate_bpm"`
	SpO2Pct           float64  `json:"spo2_pct"`
	Readings          int      `json:"readings"`
	SkinConductanceUS *float64 `json:"skin_conductance_us,omitempty"`
	BodyTempC         *float64 `json:"body_temp_c,omitempty"`
	EEGBetaAlpha      *float64 `json:"eeg_beta_alpha,omitempty"`
}

// safety is the baseline as the watchdog takes it.
func (b Baseline) safety() safety.Baseline {
	s := safety.Baseline{HeartRateBPM: b.HeartRateBPM, SpO2Pct: b.SpO2Pct}
	if b.SkinConductanceUS != nil {
		s.SkinConductanceUS, s.SkinConductanceValid = *b.SkinConductanceUS, true
	}
	if b.BodyTempC != nil {
		s.BodyTempC, s.BodyTempCValid = *b.BodyTempC, true
	}
	if b.EEGBetaAlpha != nil {
		s.BetaAlpha, s.BetaAlphaValid = *b.EEGBetaAlpha, true
	}
	return s
}

// series is the valid estimates of one of the other sensors' vitals
// over the baseline's span, oldest first, each counted once.
type series []timedValue

type timedValue struct {
	at time.Time
	v  float64
}

// add appends v made at at if it is valid, not older than staleAfter and
// newer than the last one, and drops the values older than span.
func (s *series) add(valid bool, at time.Time, v float64, now time.Time, staleAfter, span time.Duration) {
	w := *s
	if valid && !at.IsZero() && now.Sub(at) <= staleAfter && (len(w) == 0 || at.After(w[len(w)-1].at)) {
		w = append(w, timedValue{at, v})
	}
	i := 0
	for i < len(w) && now.Sub(w[i].at) > span {
		i++
	}
	if i > 0 {
		w = append(w[:0], w[i:]...)
	}
	*s = w
}

// mean returns the mean of s rounded as the baseline's vitals are, or
// nil when s is empty.
func (s series) mean(round func(float64) float64) *float64 {
	if len(s) == 0 {
		return nil
	}
	var sum float64
	for _, x := range s {
		sum += x.v
	}
	m := round(sum / float64(len(s)))
	return &m
}

// baselineSample is one valid reading of the baseline state.
type baselineSample struct {
	at       time.Time
	hr, spo2 float64
}

// SessionStatus is the merge under way, as Status reports it.
type SessionStatus struct {
	ID          string    `json:"id"`
	Dreamscape  string    `json:"dreamscape"`
	State       string    `json:"state"`
	Since       time.Time `json:"since"`
	Baseline    *Baseline `json:"baseline,omitempty"`
	MaxDuration float64   `json:"max_duration_s"`
}

// session is the pod's merge session and the sleeper's consent. Every
// field is guarded by mu. Changes are made by the methods called from the
// API, the buttons and the hub (StartMerge, EndMerge, AbortMerge, Panic,
// GrantConsent, WithdrawConsent) and by the session loop (the clocks and
// the watchdog's latch).
type session struct {
	mu    sync.Mutex
	state string // idle, baseline, merged or ending
	since time.Time
	req   MergeRequest
	// Baseline capture: the valid readings of the last BaselineDuration,
	// oldest first.
	window        []baselineSample
	skin, temp    series // the other sensors' valid estimates of the same span
	betaAlpha     series
	baseline      *Baseline
	mergedAt      time.Time
	linkDownSince time.Time // zero while the link is up or no merge runs

	consent      bool
	consentUntil time.Time // from time.Now: compared on the monotonic clock, shown by its wall reading
	consentBy    string
}

func (s *session) inMerge() bool { return s.state != "" && s.state != StateIdle }

// validSessionID reports whether id is usable as an MQTT topic level.
func validSessionID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

// StartMerge accepts a hub's merge/start when the sleeper's local consent
// is current, nothing is latched, the stored latch has been read, the
// vitals are valid now and no sensor is in fault, and no merge is under
// way. The pod then captures the sleeper's baseline for BaselineDuration,
// with every safety rule armed, and joins at StartAt or once the baseline is
// captured, whichever is later. A refusal is a *RefusedError naming every
// condition that failed; it changes nothing.
func (p *Pod) StartMerge(req MergeRequest) error {
	now := time.Now()
	var bad []string
	if !validSessionID(req.Session) {
		bad = append(bad, fmt.Sprintf("session %q: want 1..64 of letters, digits, '-', '_'", req.Session))
	}
	if req.MaxDuration < MinMergeDuration || req.MaxDuration > MaxMergeDuration {
		bad = append(bad, fmt.Sprintf("max duration %v: want %v..%v", req.MaxDuration, MinMergeDuration, MaxMergeDuration))
	}
	if !req.StartAt.IsZero() && time.Until(req.StartAt) > MaxStartDelay {
		bad = append(bad, fmt.Sprintf("start %s is more than %v ahead", req.StartAt.UTC().Format(time.RFC3339), MaxStartDelay))
	}
	if len(bad) > 0 {
		return &RefusedError{Reasons: []string{RefuseBadRequest}, Detail: strings.Join(bad, "; ")}
	}

	s := &p.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	var reasons, details []string
	refuse := func(reason, detail string) {
		reasons = append(reasons, reason)
		details = append(details, detail)
	}
	if s.inMerge() {
		refuse(RefuseBusy, fmt.Sprintf("already in merge %s (%s)", s.req.Session, s.state))
	}
	if !s.consent || !now.Before(s.consentUntil) {
		refuse(RefuseNoConsent, "the sleeper has not given current consent on the pod")
	}
	if l := p.wd.Status().Latched; l != nil {
		refuse(RefuseLatched, "an abort is latched: "+l.Rule)
	} else if !p.latch().known {
		refuse(RefuseStarting, "the stored latch has not been read yet")
	}
	if r, ok := p.latest.Load(); !ok || !r.Valid() || now.Sub(r.At) > p.cfg.Limits.StaleAfter {
		refuse(RefuseSensors, "no valid vitals now")
	} else if p.sensorFault.Load() {
		refuse(RefuseSensors, "a sensor is in fault")
	}
	// A sensor the watchdog watches during a merge (sensor_stale) that is
	// not well now would abort the merge stale_after into it.
	for _, l := range p.sensors {
		if h := l.Health(); !h.Healthy() {
			refuse(RefuseSensors, fmt.Sprintf("%s is %s", h.Sensor, h.State))
		}
	}
	if len(reasons) > 0 {
		return &RefusedError{Reasons: reasons, Detail: strings.Join(details, "; ")}
	}
	s.req = req
	s.window, s.baseline = s.window[:0], nil
	s.skin, s.temp, s.betaAlpha = s.skin[:0], s.temp[:0], s.betaAlpha[:0]
	s.mergedAt, s.linkDownSince = time.Time{}, time.Time{}
	p.wd.SetMerge(true)
	p.enterLocked(StateBaseline, now, "merge/start", nil)
	p.log.Info("merge accepted: capturing the baseline", "session", req.Session, "dreamscape", req.Dreamscape, "max", req.MaxDuration)
	return nil
}

// EndMerge ends the merge gracefully (a hub's merge/end): the pod goes
// through ending, its rules still armed, to idle. session must name the
// merge under way.
func (p *Pod) EndMerge(session, reason string) error {
	s := &p.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.matchLocked(session); err != nil {
		return err
	}
	if s.state == StateEnding {
		return nil
	}
	p.enterLocked(StateEnding, time.Now(), reason, nil)
	return nil
}

// matchLocked checks that session names the merge under way; "" matches
// any. s.mu must be held.
func (s *session) matchLocked(session string) error {
	if !s.inMerge() {
		return &RefusedError{Reasons: []string{RefuseNoSession}, Detail: "no merge is under way"}
	}
	if session != "" && session != s.req.Session {
		return &RefusedError{Reasons: []string{RefuseNoSession}, Detail: fmt.Sprintf("the merge under way is %s, not %s", s.req.Session, session)}
	}
	return nil
}

// AbortMerge ends the merge at once (a hub's merge/abort, or the merge-wide
// abort): the outputs are put in their safe state by the direct path first,
// then the merge is left for idle. It is not latched: the danger, if any,
// was not found by this pod's rules. session "" matches any merge.
func (p *Pod) AbortMerge(session, source string) error {
	s := &p.sess
	s.mu.Lock()
	err := s.matchLocked(session)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	p.safeNow()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.matchLocked(session) == nil {
		p.leaveLocked(time.Now(), "merge/abort by "+source)
	}
	return nil
}

// Panic is the sleeper's panic button: the outputs are put in their safe
// state by the direct path first, then a merge under way is left at once
// for idle, consent is withdrawn, and a "panic" event is sent. It is the
// sleeper's choice, not a danger: nothing is latched.
func (p *Pod) Panic(source string) {
	p.safeNow()
	now := time.Now()
	s := &p.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	fields := map[string]any{"source": source}
	if s.inMerge() {
		fields["session"] = s.req.Session
	}
	p.log.Warn("panic button", "source", source)
	p.post(uplink.Event{Type: "panic", Fields: fields, Audit: true}, now)
	if s.inMerge() {
		p.leaveLocked(now, "panic")
	}
	p.withdrawLocked(now, "panic")
}

// GrantConsent records the sleeper's consent to join merges, for d (0:
// ConsentDuration), within MinConsentDuration..MaxConsentDuration. It
// replaces a grant already given. source is "button" or "api".
func (p *Pod) GrantConsent(source string, d time.Duration) (Consent, error) {
	if d == 0 {
		d = p.cfg.Session.ConsentDuration
	}
	if d < MinConsentDuration || d > MaxConsentDuration {
		return Consent{}, &RefusedError{Reasons: []string{RefuseBadRequest}, Detail: fmt.Sprintf("consent for %v: want %v..%v", d, MinConsentDuration, MaxConsentDuration)}
	}
	now := time.Now()
	s := &p.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consent, s.consentUntil, s.consentBy = true, now.Add(d), source
	p.log.Info("consent granted", "source", source, "until", s.consentUntil.Round(0))
	p.post(uplink.Event{Type: "consent", Fields: map[string]any{
		"action": "granted", "source": source, "expires_at": uplink.FormatTime(s.consentUntil),
	}, Audit: true}, now)
	return s.consentLocked(), nil
}

// WithdrawConsent withdraws the sleeper's consent. A merge under way ends
// at once, as on a panic: the outputs' safe state first, then idle.
func (p *Pod) WithdrawConsent(source string) Consent {
	s := &p.sess
	s.mu.Lock()
	merged := s.inMerge()
	// Withdrawn first, under the lock: no merge can start while the safe
	// state is applied below (StartMerge needs consent).
	if s.consent {
		p.withdrawLocked(time.Now(), source)
	} else {
		s.consentBy = source
	}
	s.mu.Unlock()
	if merged {
		p.safeNow()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inMerge() {
		p.leaveLocked(time.Now(), "consent withdrawn")
	}
	return s.consentLocked()
}

// Consent returns the sleeper's consent now.
func (p *Pod) Consent() Consent {
	s := &p.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.consentLocked()
}

func (s *session) consentLocked() Consent {
	c := Consent{Granted: s.consent, Source: s.consentBy}
	if s.consent {
		t := s.consentUntil.Round(0) // the wall clock's reading, for people
		c.ExpiresAt = &t
	}
	return c
}

// withdrawLocked withdraws a granted consent and reports it. s.mu must be
// held.
func (p *Pod) withdrawLocked(now time.Time, source string) {
	s := &p.sess
	if !s.consent {
		return
	}
	s.consent, s.consentBy = false, source
	action := "withdrawn"
	if source == "expiry" {
		action = "expired"
	}
	p.log.Info("consent "+action, "source", source)
	p.post(uplink.Event{Type: "consent", Fields: map[string]any{"action": action, "source": source}, Audit: true}, now)
}

// safeNow applies the outputs' safe state by the direct path, bounded by
// safeStateTimeout, on the caller's goroutine, and holds them there for
// SettleTime (HoldMergeLeft): the hold is set first, so the recorder cannot
// reopen the outputs between the two.
func (p *Pod) safeNow() {
	p.mu.Lock()
	p.heldUntil = time.Now().Add(p.cfg.SettleTime)
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), safeStateTimeout)
	defer cancel()
	if err := p.parts.Gate.SafeStateContext(ctx); err != nil {
		p.log.Error("safe state", "err", err)
	}
}

// enterLocked moves the session to state and reports it (the pod's state,
// unless an abort is latched: that state is "aborted" until acknowledged).
// s.mu must be held.
func (p *Pod) enterLocked(state string, now time.Time, reason string, extra map[string]any) {
	s := &p.sess
	s.state, s.since = state, now
	if state == StateIdle {
		p.parts.Uplink.SetMergeSession("")
	} else {
		p.parts.Uplink.SetMergeSession(s.req.Session)
	}
	if p.wd.Status().Latched != nil {
		return
	}
	fields := map[string]any{"session": s.req.Session}
	for k, v := range extra {
		fields[k] = v
	}
	p.setStateWith(state, now, reason, fields)
}

// leaveLocked leaves the merge for idle at once and disarms what only a
// merge arms. s.mu must be held.
func (p *Pod) leaveLocked(now time.Time, reason string) {
	p.log.Info("merge left", "session", p.sess.req.Session, "reason", reason)
	p.enterLocked(StateIdle, now, reason, nil)
	p.wd.SetMerge(false)
}

// sessionLoop runs the session's clocks until ctx is done: the baseline's
// capture, the start time, the maximum duration, the gentle wake, consent
// expiry, the loss of the city link, and an abort the watchdog latched,
// which leaves the merge (the abort itself is recorded by the recorder).
func (p *Pod) sessionLoop(ctx context.Context) {
	t := time.NewTicker(sessionTick)
	defer t.Stop()
	p.sessionTurn.turn(time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		p.sessionStep(now)
		p.identifyStep(now)
		p.sessionTurn.turn(time.Now())
	}
}

func (p *Pod) sessionStep(now time.Time) {
	s := &p.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.consent && !now.Before(s.consentUntil) {
		p.withdrawLocked(now, "expiry")
		if s.state == StateBaseline || s.state == StateMerged {
			p.enterLocked(StateEnding, now, "consent expired", nil)
		}
	}
	if !s.inMerge() {
		return
	}
	if l := p.wd.Status().Latched; l != nil {
		p.abortedLocked(now, l.Rule)
		return
	}
	if s.state != StateEnding {
		if cityLink(p.parts.Uplink) {
			s.linkDownSince = time.Time{}
		} else if s.linkDownSince.IsZero() {
			s.linkDownSince = now
		} else if now.Sub(s.linkDownSince) > LinkLossLimit {
			p.enterLocked(StateEnding, now, "city link lost", nil)
			return
		}
	}
	switch s.state {
	case StateBaseline:
		var latest *vitals.Reading
		if r, ok := p.latest.Load(); ok {
			latest = &r
		}
		s.sampleBaseline(latest, now, p.cfg.Limits.StaleAfter, p.cfg.Session.BaselineDuration)
		s.sampleBody(p.body.snapshot(), now, p.cfg.Limits.StaleAfter, p.cfg.Session.BaselineDuration)
		if now.Sub(s.since) < p.cfg.Session.BaselineDuration || now.Before(s.req.StartAt) {
			return
		}
		if len(s.window) == 0 {
			p.enterLocked(StateEnding, now, "no baseline: no valid vitals", nil)
			return
		}
		s.baseline = meanBaseline(s.window)
		s.baseline.SkinConductanceUS = s.skin.mean(round3)
		s.baseline.BodyTempC = s.temp.mean(round2)
		s.baseline.EEGBetaAlpha = s.betaAlpha.mean(round3)
		s.mergedAt = now
		p.wd.SetBaseline(s.baseline.safety())
		p.enterLocked(StateMerged, now, "baseline captured", map[string]any{"baseline": *s.baseline})
	case StateMerged:
		if now.Sub(s.mergedAt) >= s.req.MaxDuration {
			p.enterLocked(StateEnding, now, "maximum duration reached", nil)
		}
	case StateEnding:
		if now.Sub(s.since) >= p.cfg.Session.EndingDuration {
			p.leaveLocked(now, "merge ended")
		}
	}
}

// sampleBaseline adds r to the baseline's window if it is a valid reading
// not seen before and not older than staleAfter, and drops the readings
// older than span. s.mu must be held.
func (s *session) sampleBaseline(r *vitals.Reading, now time.Time, staleAfter, span time.Duration) {
	if r != nil && r.Valid() && now.Sub(r.At) <= staleAfter &&
		(len(s.window) == 0 || r.At.After(s.window[len(s.window)-1].at)) {
		s.window = append(s.window, baselineSample{at: r.At, hr: r.HeartRateBPM, spo2: r.SpO2Pct})
	}
	i := 0
	for i < len(s.window) && now.Sub(s.window[i].at) > span {
		i++
	}
	if i > 0 {
		s.window = append(s.window[:0], s.window[i:]...)
	}
}

// sampleBody adds the other sensors' valid estimates not seen before to
// their series. s.mu must be held.
func (s *session) sampleBody(b bodySnapshot, now time.Time, staleAfter, span time.Duration) {
	s.skin.add(b.skin.Valid, b.skin.At, b.skin.TonicMicrosiemens, now, staleAfter, span)
	s.temp.add(b.temp.Valid, b.temp.At, b.temp.Celsius, now, staleAfter, span)
	s.betaAlpha.add(b.eeg.Valid && b.eeg.BetaAlpha > 0, b.eegAt, b.eeg.BetaAlpha, now, staleAfter, span)
}

// meanBaseline is the mean of w, which is not empty.
func meanBaseline(w []baselineSample) *Baseline {
	var hr, spo2 float64
	for _, x := range w {
		hr += x.hr
		spo2 += x.spo2
	}
	n := float64(len(w))
	return &Baseline{HeartRateBPM: round1(hr / n), SpO2Pct: round1(spo2 / n), Readings: len(w)}
}

// sessionAborted leaves a merge under way because an abort is latched. The
// recorder calls it when it records the abort and before it acknowledges
// one, the session loop when it sees the latch: whichever comes first.
func (p *Pod) sessionAborted(now time.Time, rule string) {
	s := &p.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inMerge() {
		p.abortedLocked(now, rule)
	}
}

// abortedLocked: the abort was recorded and the outputs made safe by the
// watchdog; the merge is over, silently (the pod's state is "aborted"),
// and a new one needs fresh consent. s.mu must be held.
func (p *Pod) abortedLocked(now time.Time, rule string) {
	s := &p.sess
	p.log.Warn("merge left on abort", "session", s.req.Session, "rule", rule)
	s.state, s.since = StateIdle, now
	p.parts.Uplink.SetMergeSession("")
	p.wd.SetMerge(false)
	p.withdrawLocked(now, "abort")
}

// sessionStatus returns the merge under way, or nil.
func (p *Pod) sessionStatus() *SessionStatus {
	s := &p.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.inMerge() {
		return nil
	}
	st := &SessionStatus{
		ID: s.req.Session, Dreamscape: s.req.Dreamscape, State: s.state, Since: s.since,
		MaxDuration: s.req.MaxDuration.Seconds(),
	}
	if s.baseline != nil {
		b := *s.baseline
		st.Baseline = &b
	}
	return st
}

// sessionID returns the id of the merge under way, "" when there is none.
func (p *Pod) sessionID() string {
	s := &p.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.inMerge() {
		return ""
	}
	return s.req.Session
}
