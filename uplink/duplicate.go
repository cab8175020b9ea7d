package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// ErrDuplicate is what a *DuplicateError wraps: another pod publishes, or
// has just published, under this pod's id.
var ErrDuplicate = errors.New("another pod is using this pod id")

// DuplicateError describes the other pod found under this pod's id; see
// "Another pod with this id" in the package doc.
type DuplicateError struct {
	Pod string
	// Boot is the other pod's boot, as its status or records name it.
	Boot string
	// Since is when this pod first found it, in the current episode.
	Since time.Time
	// Evidence says what showed it.
	Evidence string
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("%v: pod %q, other boot %q (%s, since %s): this pod publishes nothing until it is gone",
		ErrDuplicate, e.Pod, e.Boot, e.Evidence, FormatTime(e.Since))
}

// Unwrap makes errors.Is(err, ErrDuplicate) hold.
func (e *DuplicateError) Unwrap() error { return ErrDuplicate }

// What shows another pod, as DuplicateError.Evidence says it.
const (
	evidenceRecords   = "its records are being published"
	evidenceStatus    = "it published an online status"
	evidenceConnected = "it published an online status while this pod was connected"
	evidenceLingers   = "its online status was not withdrawn within %v"
)

// Duplicate reports another pod found publishing under this pod's id: a
// *DuplicateError (wrapping ErrDuplicate) while this pod holds back for it,
// nil otherwise. Records are still appended to the journal meanwhile; they
// go out once the other pod is gone.
func (u *Uplink) Duplicate() error {
	if d := u.duplicate.Load(); d != nil {
		return d
	}
	return nil
}

// duplicateFound records d as the current duplicate and logs it once per
// episode, and again if the other boot changes. It is called from Run's
// goroutine only.
func (u *Uplink) duplicateFound(d *DuplicateError, nextCheck time.Duration) {
	d2 := *d
	prev := u.duplicate.Load()
	if prev != nil {
		d2.Since = prev.Since
	}
	u.duplicate.Store(&d2)
	if prev != nil && prev.Boot == d2.Boot {
		u.log.Debug("another pod still publishes as this pod", "other_boot", d2.Boot, "evidence", d2.Evidence, "next_check_in", nextCheck.Round(time.Second))
		return
	}
	u.log.Error("another pod is publishing as this pod: this one publishes nothing as it until it is gone",
		"pod", u.cfg.Pod, "other_boot", d2.Boot, "boot", u.cfg.Boot, "evidence", d2.Evidence,
		"next_check_in", nextCheck.Round(time.Second),
		"remedy", "give each pod its own pod.id")
}

// duplicateGone ends a duplicate episode, if one is on.
func (u *Uplink) duplicateGone() {
	if prev := u.duplicate.Swap(nil); prev != nil {
		u.log.Info("the other pod with this pod's id is gone: publishing again", "other_boot", prev.Boot, "lasted", u.now().Sub(prev.Since).Round(time.Second))
	}
}

// holdOff records d and waits for the next check; it reports whether ctx
// let the wait end. checks counts the checks in a row that found another pod.
func (u *Uplink) holdOff(ctx context.Context, d *DuplicateError, checks *int) bool {
	*checks++
	wait := u.cfg.DuplicateBackoff.Delay(*checks, u.rng)
	u.duplicateFound(d, wait)
	return u.sleep(ctx, wait)
}

// sighting is one message seen on this pod's own topics.
type sighting struct {
	topic string // TopicStatus, TopicTelemetry or TopicEvents
	boot  string
	// up: a record, or a status that says online. A status that says
	// offline, or a retained status cleared (an empty payload), is not.
	up       bool
	retained bool
}

// sight decodes m, a message on one of this pod's topics; ok is false for
// anything else, and for a payload that names no boot it could judge.
func (u *Uplink) sight(m mqtt.Message) (s sighting, ok bool) {
	s.retained = m.Retained()
	switch m.Topic() {
	case u.topicStatus:
		s.topic = TopicStatus
		if len(m.Payload()) == 0 {
			return s, true
		}
		var st Status
		if json.Unmarshal(m.Payload(), &st) != nil {
			return s, false
		}
		s.boot, s.up = st.Boot, st.Online
	case u.topicTelemetry, u.topicEvents:
		s.topic = TopicTelemetry
		if m.Topic() == u.topicEvents {
			s.topic = TopicEvents
		}
		var h Header
		if json.Unmarshal(m.Payload(), &h) != nil {
			return s, false
		}
		s.boot, s.up = h.Boot, true
	default:
		return s, false
	}
	return s, true
}

// previousBoot asks the caller whether boot was one of this pod's own
// earlier starts.
func (u *Uplink) previousBoot(boot string) bool {
	return u.cfg.PreviousBoot != nil && boot != "" && u.cfg.PreviousBoot(boot)
}

func (u *Uplink) duplicateOf(s sighting, evidence string) *DuplicateError {
	return &DuplicateError{Pod: u.cfg.Pod, Boot: s.boot, Since: u.now(), Evidence: evidence}
}

// sightingBuffer holds what the probe has seen and not yet judged; a pod
// sends about one record a second, so it never fills in ProbeWait.
const sightingBuffer = 64

// probe listens on this pod's status, telemetry and events topics over c,
// a connection under another client id and without a will, and judges
// whether another pod publishes as this one (the rule is in "Another pod
// with this id" in the package doc). It publishes nothing. It returns the
// other pod, nil when there is none, or an error when it could not judge
// (the connection failed).
func (u *Uplink) probe(ctx context.Context, c *conn) (*DuplicateError, error) {
	seen := make(chan sighting, sightingBuffer)
	handler := func(_ mqtt.Client, m mqtt.Message) {
		if s, ok := u.sight(m); ok {
			select {
			case seen <- s:
			default:
			}
		}
	}
	topics := []string{u.topicStatus, u.topicTelemetry, u.topicEvents}
	toks := make([]mqtt.Token, len(topics))
	for i, topic := range topics {
		toks[i] = c.link.Subscribe(topic, 0, handler)
	}
	subscribed := time.NewTimer(u.cfg.ConnectTimeout)
	defer subscribed.Stop()
	for i, tok := range toks {
		select {
		case <-tok.Done():
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.lost:
			return nil, fmt.Errorf("uplink.probe: %w", errConnectionLost)
		case <-subscribed.C:
			return nil, fmt.Errorf("uplink.probe: subscription to %s not acknowledged within %v", topics[i], u.cfg.ConnectTimeout)
		}
		if err := tok.Error(); err != nil {
			return nil, fmt.Errorf("uplink.probe: subscribe %s: %w", topics[i], err)
		}
		if refused(tok) {
			u.watchRefused(topics[i])
			return nil, nil
		}
	}

	wait := time.NewTimer(u.cfg.ProbeWait)
	defer wait.Stop()
	// grace runs from the first sight of a suspect; stopped until then.
	grace := time.NewTimer(time.Hour)
	grace.Stop()
	defer grace.Stop()
	var (
		suspect *sighting
		graceC  <-chan time.Time
	)
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.lost:
			return nil, fmt.Errorf("uplink.probe: %w", errConnectionLost)
		case <-wait.C:
			if suspect == nil {
				return nil, nil // nothing retained, nothing live
			}
		case <-graceC:
			return u.duplicateOf(*suspect, fmt.Sprintf(evidenceLingers, u.cfg.DuplicateGrace)), nil
		case s := <-seen:
			switch {
			case s.boot == u.cfg.Boot:
				// This start's own status, from its last connection:
				// nothing has claimed the id since.
				if s.retained && s.topic == TopicStatus {
					return nil, nil
				}
			case !s.retained && s.up && s.topic == TopicStatus:
				return u.duplicateOf(s, evidenceStatus), nil
			case !s.retained && s.up:
				return u.duplicateOf(s, evidenceRecords), nil
			case !s.retained:
				// A will or a goodbye: no pod says it is online any more.
				if suspect != nil {
					return nil, nil
				}
			case s.topic != TopicStatus:
				// A retained record is not how a pod speaks: ignore it.
			case !s.up, u.previousBoot(s.boot):
				// Offline, or left online by this pod's own earlier start,
				// whose connection the broker has not yet seen die.
				return nil, nil
			case suspect == nil:
				// Online, from a boot that is not this pod's: another pod,
				// or an earlier start of this one whose will has not fired
				// yet. Its records, or its will, will tell.
				suspect = &s
				grace.Reset(u.cfg.DuplicateGrace)
				graceC = grace.C
				level := slog.LevelInfo
				if u.duplicate.Load() != nil {
					level = slog.LevelDebug // the episode is logged already
				}
				u.log.Log(ctx, level, "the retained status says another boot is online: waiting for it to go offline before connecting",
					"other_boot", s.boot, "boot", u.cfg.Boot, "grace", u.cfg.DuplicateGrace)
			}
		}
	}
}

// refused reports whether the broker refused the subscription of tok
// (SUBACK return code 0x80).
func refused(tok mqtt.Token) bool {
	r, ok := tok.(interface{ Result() map[string]byte })
	if !ok {
		return false
	}
	for _, code := range r.Result() {
		if code == 0x80 {
			return true
		}
	}
	return false
}

// watchRefused logs, once per Uplink, that the broker refuses the pod's
// subscription to its own topics: the check for another pod then sees
// nothing and lets the pod publish.
func (u *Uplink) watchRefused(topic string) {
	if u.watchWarned.CompareAndSwap(false, true) {
		u.log.Warn("the broker refuses this pod's subscription to its own topics: another pod under this id cannot be detected",
			"topic", topic, "remedy", "let the pod's user read "+Root(u.cfg.Pod)+"#")
	}
}

// watchStatus is the handler of the subscription each connection makes to
// its own status topic: an online status from another boot means another
// pod has come online under this id since the probe, and c is given up.
// A retained one left by this pod's own earlier start is not.
func (u *Uplink) watchStatus(c *conn) mqtt.MessageHandler {
	return func(_ mqtt.Client, m mqtt.Message) {
		s, ok := u.sight(m)
		if !ok || s.topic != TopicStatus || !s.up || s.boot == u.cfg.Boot {
			return
		}
		if s.retained && u.previousBoot(s.boot) {
			return
		}
		c.foreignFound(u.duplicateOf(s, evidenceConnected))
	}
}

// foreignWatch is the part of a conn that its status subscription fills.
type foreignWatch struct {
	once    sync.Once
	found   chan struct{} // closed once another pod's status arrived
	foreign *DuplicateError
}

func (c *conn) foreignFound(d *DuplicateError) {
	c.watch.once.Do(func() {
		c.watch.foreign = d
		close(c.watch.found)
	})
}
