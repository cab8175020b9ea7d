package hubcmd

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Name is a command's name, the cmd claim.
type Name string

// The commands.
const (
	MergeStartName        Name = "merge/start"
	MergeEndName          Name = "merge/end"
	MergeAbortName        Name = "merge/abort"
	IdentifyName          Name = "identify"
	TelemetryIntervalName Name = "telemetry/interval"
)

// Bounds of the claims and arguments. Each is checked on the pod; hubclient
// checks the ones that do not depend on the pod's clock before it signs.
const (
	// MaxIDLen bounds jti, session and dreamscape: 64 characters hold a UUID
	// (36) or a 256-bit random id in base64url (43) with room to spare.
	MaxIDLen = 64
	// MaxAudiences bounds the entries of an aud array.
	MaxAudiences = 16
	// MaxAudienceLen bounds one aud entry: "merge:" and a session, or a pod
	// id, fit well within it.
	MaxAudienceLen = 128
	// MaxReasonLen bounds an abort's reason, in bytes: a sentence for the
	// audit, not a document.
	MaxReasonLen = 200

	// MinMergeDuration and MaxMergeDuration bound merge/start's
	// max_duration_s: a merge shorter than a minute cannot capture a baseline
	// and fade out; one longer than 12 hours is longer than any night.
	MinMergeDuration = time.Minute
	MaxMergeDuration = 12 * time.Hour
	// MaxStartAhead is how far ahead of now a merge may be scheduled: a day,
	// tonight's session at the latest. A start further ahead holds the pod
	// for a session nobody can have planned for it.
	MaxStartAhead = 24 * time.Hour
	// MaxStartLate is how long after its start a pod may still be told to
	// join a merge: as long as a command may live (MaxLifetime), so a start
	// sent as the merge begins is still good when it arrives; a pod that
	// missed more than that stays out.
	MaxStartLate = MaxLifetime

	// MinIdentify and MaxIdentify bound identify's duration_s: the pod
	// shows itself to a technician, long enough to be found, short enough
	// not to disturb a sleeper for long.
	MinIdentify = time.Second
	MaxIdentify = 2 * time.Minute

	// MinTelemetryInterval and MaxTelemetryInterval bound
	// telemetry/interval's interval_ms: the pod's own configuration bounds.
	MinTelemetryInterval = 100 * time.Millisecond
	MaxTelemetryInterval = 60 * time.Second
)

// Args are a command's arguments; each command has its own type.
type Args interface {
	// Name is the command these are the arguments of.
	Name() Name
	// check validates what can be checked without a clock.
	check() *Error
	encode(c map[string]any)
}

// MergeStart asks the pod to join a merge: claims session, dreamscape,
// start (NumericDate) and max_duration_s (whole seconds).
type MergeStart struct {
	Session     string
	Dreamscape  string
	Start       time.Time
	MaxDuration time.Duration
}

// MergeEnd asks the pod to end its merge gracefully: claim session.
type MergeEnd struct {
	Session string
}

// MergeAbort asks the pod to abort: claims session (optional; the merge the
// hub means) and reason (optional, text for the audit).
type MergeAbort struct {
	Session string
	Reason  string
}

// Identify asks the pod to show itself (light) for Duration: claim
// duration_s (whole seconds).
type Identify struct {
	Duration time.Duration
}

// TelemetryInterval sets the telemetry cadence: claim interval_ms (whole
// milliseconds).
type TelemetryInterval struct {
	Interval time.Duration
}

func (MergeStart) Name() Name        { return MergeStartName }
func (MergeEnd) Name() Name          { return MergeEndName }
func (MergeAbort) Name() Name        { return MergeAbortName }
func (Identify) Name() Name          { return IdentifyName }
func (TelemetryInterval) Name() Name { return TelemetryIntervalName }

// Claim names of the arguments.
const (
	claimSession     = "session"
	claimDreamscape  = "dreamscape"
	claimStart       = "start"
	claimMaxDuration = "max_duration_s"
	claimReason      = "reason"
	claimDuration    = "duration_s"
	claimIntervalMS  = "interval_ms"
)

// argClaims lists the argument claims each command takes; any other claim
// besides the registered ones (jti, iat, exp, aud, cmd) is refused.
var argClaims = map[Name][]string{
	MergeStartName:        {claimSession, claimDreamscape, claimStart, claimMaxDuration},
	MergeEndName:          {claimSession},
	MergeAbortName:        {claimSession, claimReason},
	IdentifyName:          {claimDuration},
	TelemetryIntervalName: {claimIntervalMS},
}

func (a MergeStart) check() *Error {
	if err := checkSession(a.Session); err != nil {
		return err
	}
	if err := checkID(claimDreamscape, a.Dreamscape); err != nil {
		return err
	}
	if a.Start.IsZero() {
		return errorf(ReasonBadArgument, claimStart, "required")
	}
	return checkWhole(claimMaxDuration, a.MaxDuration, time.Second, MinMergeDuration, MaxMergeDuration)
}

// checkAt checks the start time against now.
func (a MergeStart) checkAt(now time.Time) *Error {
	if a.Start.After(now.Add(MaxStartAhead)) {
		return errorf(ReasonBadArgument, claimStart, "%s is more than %s ahead of the pod's clock (%s)",
			a.Start.UTC().Format(time.RFC3339), MaxStartAhead, now.UTC().Format(time.RFC3339))
	}
	if a.Start.Before(now.Add(-MaxStartLate)) {
		return errorf(ReasonBadArgument, claimStart, "%s is more than %s before the pod's clock (%s)",
			a.Start.UTC().Format(time.RFC3339), MaxStartLate, now.UTC().Format(time.RFC3339))
	}
	return nil
}

func (a MergeEnd) check() *Error { return checkSession(a.Session) }

func (a MergeAbort) check() *Error {
	if a.Session != "" {
		if err := checkSession(a.Session); err != nil {
			return err
		}
	}
	if len(a.Reason) > MaxReasonLen {
		return errorf(ReasonBadArgument, claimReason, "%d bytes, more than %d", len(a.Reason), MaxReasonLen)
	}
	if !utf8.ValidString(a.Reason) {
		return errorf(ReasonBadArgument, claimReason, "not UTF-8")
	}
	for _, r := range a.Reason {
		if !unicode.IsPrint(r) {
			return errorf(ReasonBadArgument, claimReason, "holds the unprintable character %U", r)
		}
	}
	return nil
}

func (a Identify) check() *Error {
	return checkWhole(claimDuration, a.Duration, time.Second, MinIdentify, MaxIdentify)
}

func (a TelemetryInterval) check() *Error {
	return checkWhole(claimIntervalMS, a.Interval, time.Millisecond, MinTelemetryInterval, MaxTelemetryInterval)
}

func (a MergeStart) encode(c map[string]any) {
	c[claimSession] = a.Session
	c[claimDreamscape] = a.Dreamscape
	c[claimStart] = a.Start.Unix()
	c[claimMaxDuration] = int64(a.MaxDuration / time.Second)
}

func (a MergeEnd) encode(c map[string]any) { c[claimSession] = a.Session }

func (a MergeAbort) encode(c map[string]any) {
	if a.Session != "" {
		c[claimSession] = a.Session
	}
	if a.Reason != "" {
		c[claimReason] = a.Reason
	}
}

func (a Identify) encode(c map[string]any) { c[claimDuration] = int64(a.Duration / time.Second) }

func (a TelemetryInterval) encode(c map[string]any) {
	c[claimIntervalMS] = int64(a.Interval / time.Millisecond)
}

// checkWhole checks that d is a whole number of units within [lo, hi].
func checkWhole(field string, d, unit, lo, hi time.Duration) *Error {
	if d%unit != 0 {
		return errorf(ReasonBadArgument, field, "%s is not a whole number of %s", d, unit)
	}
	if d < lo || d > hi {
		return errorf(ReasonBadArgument, field, "%s is outside %s..%s", d, lo, hi)
	}
	return nil
}

// checkSession checks a session id. It becomes an MQTT topic level
// (sleegation/v1/merges/{session}/abort) and follows "merge:" in an aud, so
// it is 1 to MaxIDLen characters of A-Z, a-z, 0-9, '_' and '-': no '/',
// '+', '#', NUL, ':' or space can reach a topic.
func checkSession(s string) *Error { return checkID(claimSession, s) }

// checkID checks an id (session, dreamscape): 1 to MaxIDLen characters of
// A-Z, a-z, 0-9, '_' and '-'.
func checkID(field, s string) *Error {
	if s == "" {
		return errorf(ReasonBadArgument, field, "required")
	}
	if len(s) > MaxIDLen {
		return errorf(ReasonBadArgument, field, "%d characters, more than %d", len(s), MaxIDLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isIDChar(c) {
			return errorf(ReasonBadArgument, field, "holds %q at byte %d; only A-Z, a-z, 0-9, _ and - are allowed", rune(c), i)
		}
	}
	return nil
}

func isIDChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// checkJTI checks a command id: 1 to MaxIDLen printable ASCII characters
// other than space (it is echoed in the reply and written to the audit).
func checkJTI(s string) *Error {
	if s == "" {
		return errorf(ReasonBadArgument, "jti", "required")
	}
	if len(s) > MaxIDLen {
		return errorf(ReasonBadArgument, "jti", "%d characters, more than %d", len(s), MaxIDLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return errorf(ReasonBadArgument, "jti", "holds %q at byte %d; only printable ASCII without space is allowed", rune(c), i)
		}
	}
	return nil
}

// MergeAudience is the aud that addresses every pod in a merge session.
func MergeAudience(session string) string { return mergePrefix + session }

const mergePrefix = "merge:"

func checkAudience(aud []string) *Error {
	if len(aud) > MaxAudiences {
		return errorf(ReasonBadArgument, "aud", "%d entries, more than %d", len(aud), MaxAudiences)
	}
	for _, a := range aud {
		if a == "" || len(a) > MaxAudienceLen {
			return errorf(ReasonBadArgument, "aud", "an entry of %d characters; 1 to %d are allowed", len(a), MaxAudienceLen)
		}
		if strings.ContainsFunc(a, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' }) {
			return errorf(ReasonBadArgument, "aud", "the entry %q holds a space or an unprintable character", a)
		}
	}
	return nil
}
