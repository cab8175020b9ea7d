package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleegation/podd/journal"
)

// Topic suffixes under Root(pod).
const (
	TopicStatus    = "status"
	TopicTelemetry = "telemetry"
	TopicEvents    = "events"
)

// Root is the topic prefix of one pod, ending in "/".
func Root(pod string) string { return "sleegation/v1/pods/" + pod + "/" }

// Config configures an Uplink. Zero durations take the defaults noted.
type Config struct {
	Broker         string // tcp://host:port
	ClientID       string // default "podd-" + Pod
	Pod            string
	Boot           string // random per start
	Version        string
	Simulated      bool
	ConnectTimeout time.Duration // dial plus CONNACK, default 10s
	PublishTimeout time.Duration // longest wait for any acknowledgement, default 10s
	KeepAlive      time.Duration // MQTT keep-alive, default 30s
	Window         int           // messages in flight, default 32
	Backoff        BackoffPolicy // default DefaultBackoff
	// ClockSynced reports whether wall time is trustworthy; nil means it is
	// not known to be, and records are marked clock_synced false.
	ClockSynced func() bool
	Logger      *slog.Logger
}

// Uplink publishes one pod's status, telemetry and events.
type Uplink struct {
	cfg   Config
	store *journal.Store
	log   *slog.Logger

	topicStatus, topicTelemetry, topicEvents string

	epoch     atomic.Uint64
	connected atomic.Bool
	running   atomic.Bool

	wake       chan struct{} // a record was appended
	statusWake chan struct{} // the status changed

	statusMu sync.Mutex
	state    string
	since    time.Time

	// appendMu makes a record and the report of what its append dropped
	// adjacent, so the room Append leaves is used by the report.
	appendMu sync.Mutex

	// connect opens one connection; tests replace it.
	connect func(ctx context.Context) (*conn, error)
	rng     *rand.Rand // used only by Run's goroutine
	now     func() time.Time
}

// New checks cfg and returns an Uplink that sends the store's outbox. It
// starts nothing; Run does.
func New(cfg Config, store *journal.Store) (*Uplink, error) {
	var problems []string
	if store == nil {
		problems = append(problems, "nil journal")
	}
	if cfg.Pod == "" || strings.ContainsAny(cfg.Pod, "/+#") {
		problems = append(problems, fmt.Sprintf("pod %q: must be non-empty and contain no / + #", cfg.Pod))
	}
	if u, err := url.Parse(cfg.Broker); err != nil || (u.Scheme != "tcp" && u.Scheme != "mqtt") || u.Port() == "" {
		problems = append(problems, fmt.Sprintf("broker %q: want tcp://host:port", cfg.Broker))
	}
	if cfg.Window < 0 || cfg.ConnectTimeout < 0 || cfg.PublishTimeout < 0 || cfg.KeepAlive < 0 {
		problems = append(problems, "negative window or timeout")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("uplink.New: %s", strings.Join(problems, "; "))
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "podd-" + cfg.Pod
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.PublishTimeout == 0 {
		cfg.PublishTimeout = 10 * time.Second
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 30 * time.Second
	}
	if cfg.Window == 0 {
		cfg.Window = 32
	}
	cfg.Backoff = cfg.Backoff.orDefault()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	root := Root(cfg.Pod)
	u := &Uplink{
		cfg:            cfg,
		store:          store,
		log:            cfg.Logger.With("component", "uplink"),
		topicStatus:    root + TopicStatus,
		topicTelemetry: root + TopicTelemetry,
		topicEvents:    root + TopicEvents,
		wake:           make(chan struct{}, 1),
		statusWake:     make(chan struct{}, 1),
		state:          "starting",
		since:          time.Now(),
		rng:            rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		now:            time.Now,
	}
	u.connect = u.connectPaho
	return u, nil
}

// Connected reports whether a connection is up and being drained.
func (u *Uplink) Connected() bool { return u.connected.Load() }

// SetStatus records the pod's state; when it changed, the retained status is
// published as soon as a connection allows. It never blocks.
func (u *Uplink) SetStatus(state string, since time.Time) {
	u.statusMu.Lock()
	changed := state != u.state || !since.Equal(u.since)
	u.state, u.since = state, since
	u.statusMu.Unlock()
	if changed {
		signal(u.statusWake)
	}
}

// Telemetry journals one telemetry record and wakes the drainer. It returns
// once the record is on disk.
func (u *Uplink) Telemetry(t Telemetry, at time.Time) (uint64, error) {
	switch t.Safety {
	case "ok", "warn", "abort":
	default:
		return 0, fmt.Errorf("uplink.Telemetry: safety %q: want ok, warn or abort", t.Safety)
	}
	body, err := json.Marshal(t)
	if err != nil {
		return 0, fmt.Errorf("uplink.Telemetry: %w", err)
	}
	seq, err := u.append(u.topicTelemetry, at, body)
	if err != nil {
		return 0, fmt.Errorf("uplink.Telemetry: %w", err)
	}
	return seq, nil
}

// Event journals one event and wakes the drainer. It returns once the event
// is on disk.
func (u *Uplink) Event(e Event, at time.Time) (uint64, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("uplink.Event: %w", err)
	}
	seq, err := u.append(u.topicEvents, at, body)
	if err != nil {
		return 0, fmt.Errorf("uplink.Event: %w", err)
	}
	return seq, nil
}

func (u *Uplink) append(topic string, at time.Time, body []byte) (uint64, error) {
	synced := u.cfg.ClockSynced != nil && u.cfg.ClockSynced()
	u.appendMu.Lock()
	defer u.appendMu.Unlock()
	seq, err := u.appendLocked(topic, at, synced, body)
	signal(u.wake)
	return seq, err
}

func (u *Uplink) appendLocked(topic string, at time.Time, synced bool, body []byte) (uint64, error) {
	rec, err := u.appendRecord(topic, at, synced, body)
	if err != nil {
		return 0, err
	}
	if !rec.Dropped.Empty() {
		u.log.Warn("outbox full: oldest records dropped", "from", rec.Dropped.From, "to", rec.Dropped.To)
		// The journal left room for this report, so it cannot drop in turn;
		// if it ever did, the log above is the record of it.
		if _, err := u.reportDropped(rec.Dropped, "outbox_full", ""); err != nil {
			u.log.Error("reporting dropped records", "err", err)
		}
	}
	return rec.Seq, nil
}

// appendRecord appends one record with its envelope; appendMu must be held.
func (u *Uplink) appendRecord(topic string, at time.Time, synced bool, body []byte) (journal.Record, error) {
	return u.store.Append(topic, at, func(seq uint64) ([]byte, error) {
		return encodeRecord(storedHeader{
			Pod: u.cfg.Pod, Boot: u.cfg.Boot, Seq: seq, TS: FormatTime(at),
			ClockSynced: synced, Simulated: u.cfg.Simulated,
		}, body)
	})
}

// reportDropped journals a dropped event; appendMu must be held.
func (u *Uplink) reportDropped(r journal.SeqRange, reason, detail string) (uint64, error) {
	fields := map[string]any{"from": r.From, "to": r.To, "count": r.Len(), "reason": reason}
	if detail != "" {
		fields["error"] = detail
	}
	body, err := json.Marshal(Event{Type: "dropped", Fields: fields})
	if err != nil {
		return 0, err
	}
	at := u.now()
	synced := u.cfg.ClockSynced != nil && u.cfg.ClockSynced()
	rec, err := u.appendRecord(u.topicEvents, at, synced, body)
	if err != nil {
		return 0, err
	}
	if !rec.Dropped.Empty() {
		// Only a full outbox does this (a corrupt record discarded while
		// full): the batch this report pushed out is reported in turn. The
		// journal leaves room for that report, so this ends.
		u.log.Warn("outbox full: oldest records dropped", "from", rec.Dropped.From, "to", rec.Dropped.To)
		if _, err := u.reportDropped(rec.Dropped, "outbox_full", ""); err != nil {
			return rec.Seq, err
		}
	}
	return rec.Seq, nil
}

func (u *Uplink) status(online bool, at time.Time) []byte {
	st := Status{Online: online, State: "offline", Version: u.cfg.Version, Simulated: u.cfg.Simulated, Since: FormatTime(at)}
	if online {
		u.statusMu.Lock()
		st.State, st.Since = u.state, FormatTime(u.since)
		u.statusMu.Unlock()
	}
	b, err := json.Marshal(st)
	if err != nil {
		// Status holds only strings and bools; Marshal cannot fail on it.
		u.log.Error("marshal status", "err", err)
	}
	return b
}

// signal wakes a goroutine waiting on c without ever blocking the caller.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// dialer opens the TCP connection for paho so that cancelling Run's context
// also abandons a dial in progress.
func dialer(ctx context.Context, timeout time.Duration) func(*url.URL) (net.Conn, error) {
	return func(uri *url.URL) (net.Conn, error) {
		d := net.Dialer{Timeout: timeout}
		return d.DialContext(ctx, "tcp", uri.Host)
	}
}

var errConnectionLost = errors.New("connection lost")
