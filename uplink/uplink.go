package uplink

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
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

// Journal is what the uplink needs of the store: *journal.Store and
// *journal.Slot have it. Its methods are called concurrently (by Run and by
// Telemetry's and Event's callers). Any call may fail (a Slot not yet open, a
// failing disk); see the package doc for what the uplink does then.
type Journal interface {
	// Append stores a record with the next seq, its payload built by build;
	// see journal.Store.Append.
	Append(topic string, created time.Time, build func(seq uint64) ([]byte, error)) (journal.Record, error)
	// AppendLazy is Append for telemetry: the record waits in the journal's
	// batch and is stored with it, within the journal's CommitInterval; see
	// journal.Store.AppendLazy.
	AppendLazy(topic string, created time.Time, build func(seq uint64) ([]byte, error)) (journal.Record, error)
	// AppendAudited is Append for an event that is also an entry of the
	// journal's audit log, both in one transaction; see
	// journal.Store.AppendAudited.
	AppendAudited(topic string, created time.Time, entryType string, fields []byte, build func(seq uint64, link journal.AuditLink) ([]byte, error)) (journal.Record, error)
	// Pending returns up to max records with Seq > after, oldest first.
	Pending(after uint64, max int) ([]journal.Record, error)
	// Delete removes acknowledged records.
	Delete(seqs ...uint64) error
	// NextSeq is the seq the next Append will use.
	NextSeq() (uint64, error)
	// Committed is closed by the journal's next commit, which may make
	// records of AppendLazy visible to Pending (a journal.Slot's also when
	// its Store is set).
	Committed() <-chan struct{}
}

// LatchClearer is a Journal that can delete its latched abort in the
// transaction of an audited record (Event.ClearLatch); see
// journal.Store.ClearLatchAudited.
type LatchClearer interface {
	ClearLatchAudited(topic string, created time.Time, entryType string, fields []byte, build func(seq uint64, link journal.AuditLink) ([]byte, error)) (journal.Record, error)
}

var (
	_ LatchClearer = (*journal.Store)(nil)
	_ LatchClearer = (*journal.Slot)(nil)
	_ Journal      = (*journal.Store)(nil)
	_ Journal      = (*journal.Slot)(nil)
)

// Config configures an Uplink. Zero durations take the defaults noted.
type Config struct {
	// Brokers are the broker URLs, scheme://host:port: tcp or mqtt for
	// plain TCP, ssl, tls or mqtts for TLS; all of one kind. They are tried
	// in order on start, then round robin (see "Brokers, TLS and
	// credentials" in the package doc).
	Brokers []string
	// Broker is a single broker, the same as Brokers: []string{Broker}.
	// Set Broker or Brokers, not both.
	Broker string
	// TLS configures the TLS of ssl, tls and mqtts brokers; nil means the
	// system's roots, no client certificate, the broker's host name as the
	// server name. It is refused with tcp and mqtt brokers. LoadTLS builds
	// one from PEM files. New keeps a copy, with MinVersion raised to TLS
	// 1.2 if lower.
	TLS *tls.Config
	// Username and Password are sent in the CONNECT; empty means none. A
	// password needs a username.
	Username       string
	Password       string
	ClientID       string // default "podd-" + Pod
	Pod            string
	Boot           string // random per start; New draws one when empty
	Version        string
	Simulated      bool
	ConnectTimeout time.Duration // dial, TLS handshake and CONNACK, default 10s
	PublishTimeout time.Duration // longest wait for any acknowledgement, default 10s
	// StopTimeout bounds Run's stop, default 1s: once ctx is done, Run
	// returns within StopTimeout plus the 250 ms DISCONNECT quiesce, whatever
	// the broker does (see "Stopping" in the package doc).
	StopTimeout time.Duration
	KeepAlive   time.Duration // MQTT keep-alive, default 30s
	Window      int           // messages in flight, default 32
	Backoff     BackoffPolicy // default DefaultBackoff
	// ClockSynced reports whether wall time is trustworthy; nil means it is
	// not known to be, and records are marked clock_synced false.
	ClockSynced func() bool
	Logger      *slog.Logger

	// The check for another pod publishing under Pod: see "Another pod
	// with this id" in the package doc.
	//
	// PreviousBoot reports whether boot is one of this pod's own earlier
	// starts. The caller keeps them: before calling Run it stores Boot where
	// the next start will read it (the journal, or a file beside it), and
	// it answers from the last few it read at start. With it, a pod
	// restarted after a crash or a power cut connects at once; nil, or a
	// false answer, makes the status an earlier start left online wait out
	// DuplicateGrace. It may be called from several goroutines.
	PreviousBoot func(boot string) bool
	// ProbeWait is how long the check waits for the retained status
	// before it takes it that there is none, default 2s.
	ProbeWait time.Duration
	// DuplicateGrace is how long an online status from a boot that is
	// not this pod's is given to go offline before it is taken for another
	// pod, default 2 × KeepAlive + 10s: more than a broker takes to fire
	// the will of a connection with this KeepAlive that died without a
	// word (1.5 × KeepAlive by the protocol, later by the broker's own
	// schedule: mosquitto 2.0 up to 5 s later).
	DuplicateGrace time.Duration
	// DuplicateBackoff spaces the checks while another pod holds the id,
	// default DefaultDuplicateBackoff.
	DuplicateBackoff BackoffPolicy

	// RequireHub makes a record leave the outbox only once the hub has
	// receipted it, and holds the backlog while the hub is not known to
	// be online (see "The hub's receipts" in the package doc). False: a record
	// leaves it on the broker's PUBACK.
	RequireHub bool
	// ReceiptTimeout is, with RequireHub, how long records sent and not
	// receipted wait, while the hub is online and no receipt advances,
	// before they are sent again; default DefaultReceiptTimeout (30 s).
	ReceiptTimeout time.Duration
}

// DefaultDuplicateBackoff is used for a zero Config.DuplicateBackoff: a pod
// that found another under its id looks again after 30 s, then less often,
// down to every 5 minutes.
var DefaultDuplicateBackoff = BackoffPolicy{Initial: 30 * time.Second, Max: 5 * time.Minute, Jitter: 0.2}

// Uplink publishes one pod's status, telemetry and events.
type Uplink struct {
	cfg   Config
	store Journal
	log   *slog.Logger

	root                                     string // Root(pod)
	topicStatus, topicTelemetry, topicEvents string
	in                                       inbound
	envelope                                 envelope

	brokers []string
	// tlsConf is the TLS configuration of each broker, nil for plain TCP.
	tlsConf map[string]*tls.Config

	epoch     atomic.Uint64
	connected atomic.Bool
	running   atomic.Bool

	// current is the connection being drained, nil between connections; an
	// append made while it is set may fix its historical boundary.
	current atomic.Pointer[conn]
	// held is the connection Run holds, up to its goodbye, for the stop
	// guard to abort.
	held atomic.Pointer[conn]

	// Journal faults seen by the drainer; touched only by Run's goroutine.
	readFault, deleteFault faultLog

	// hub is what the pod knows of the hub (Config.RequireHub).
	hub hubView
	// awaiting are the seqs the broker acknowledged and the hub has not
	// receipted, ascending (Config.RequireHub); rejected is the last
	// receipt refused as above every seq made, logged once. Touched only
	// by Run's goroutine.
	awaiting []uint64
	rejected uint64

	wake       chan struct{} // a record was appended
	statusWake chan struct{} // the status changed

	statusMu sync.Mutex
	degraded []string
	state    string
	since    time.Time

	// appendMu makes a record and the report of what its append dropped
	// adjacent, so the room Append leaves is used by the report.
	appendMu sync.Mutex
	// unreported are the drops whose report failed, oldest first, each
	// retried as its own report before the next append; under appendMu.
	unreported []journal.Dropped
	// outboxDropped counts the records a full outbox let go (OutboxDropped).
	outboxDropped atomic.Uint64

	// Connection failures seen by Run; touched only by Run's goroutine.
	connectFault connectLog
	// lastError is the last failure Run saw (LastError); nil before one.
	lastError atomic.Pointer[LinkError]

	// duplicate is the other pod found under this pod's id, nil when none
	// is; Run's goroutine alone sets it.
	duplicate atomic.Pointer[DuplicateError]
	// watchWarned: the broker refused the subscription to this pod's own
	// topics once already, and it was logged.
	watchWarned atomic.Bool

	// connect opens one connection to broker; tests replace it.
	connect func(ctx context.Context, broker string) (*conn, error)
	rng     *rand.Rand // used only by Run's goroutine
	now     func() time.Time
}

// New checks cfg and returns an Uplink that sends j's outbox. It starts
// nothing; Run does. j may be a journal that is not open yet (a
// *journal.Slot). The error names every problem: an invalid cfg, or a nil j
// (a nil interface, or a nil pointer in one).
func New(cfg Config, j Journal) (*Uplink, error) {
	var problems []string
	if isNil(j) {
		problems = append(problems, "nil journal")
	}
	if cfg.Pod == "" || strings.ContainsAny(cfg.Pod, "/+#") {
		problems = append(problems, fmt.Sprintf("pod %q: must be non-empty and contain no / + #", cfg.Pod))
	}
	brokers, tlsConfs, brokerProblems := checkBrokers(cfg)
	problems = append(problems, brokerProblems...)
	if cfg.Password != "" && cfg.Username == "" {
		problems = append(problems, "password without a username")
	}
	if cfg.Window < 0 || cfg.ConnectTimeout < 0 || cfg.PublishTimeout < 0 || cfg.StopTimeout < 0 || cfg.KeepAlive < 0 ||
		cfg.ProbeWait < 0 || cfg.DuplicateGrace < 0 || cfg.ReceiptTimeout < 0 {
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
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = time.Second
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 30 * time.Second
	}
	if cfg.Window == 0 {
		cfg.Window = 32
	}
	if cfg.Boot == "" {
		cfg.Boot = fmt.Sprintf("%016x", rand.Uint64())
	}
	if cfg.ProbeWait == 0 {
		cfg.ProbeWait = 2 * time.Second
	}
	if cfg.ReceiptTimeout == 0 {
		cfg.ReceiptTimeout = DefaultReceiptTimeout
	}
	if cfg.DuplicateGrace == 0 {
		cfg.DuplicateGrace = 2*cfg.KeepAlive + 10*time.Second
	}
	cfg.Backoff = cfg.Backoff.orDefault()
	if cfg.DuplicateBackoff.Initial <= 0 {
		cfg.DuplicateBackoff = DefaultDuplicateBackoff
	}
	cfg.DuplicateBackoff = cfg.DuplicateBackoff.orDefault()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	root := Root(cfg.Pod)
	log := cfg.Logger.With("component", "uplink")
	u := &Uplink{
		cfg:            cfg,
		store:          j,
		log:            log,
		brokers:        brokers,
		tlsConf:        tlsConfs,
		connectFault:   connectLog{log: log, username: cfg.Username, clockSynced: cfg.ClockSynced},
		readFault:      faultLog{log: log, what: "journal read"},
		deleteFault:    faultLog{log: log, what: "deleting acknowledged records", consequence: "they stay in the outbox and are sent again"},
		root:           root,
		in:             inbound{c: make(chan Inbound, inboundQueue), aborts: make(chan Inbound, abortQueue)},
		topicStatus:    root + TopicStatus,
		topicTelemetry: root + TopicTelemetry,
		topicEvents:    root + TopicEvents,
		envelope:       newEnvelope(cfg.Pod, cfg.Boot, cfg.Simulated),
		wake:           make(chan struct{}, 1),
		statusWake:     make(chan struct{}, 1),
		state:          "starting",
		since:          time.Now(),
		rng:            rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		now:            time.Now,
	}
	u.hub.init()
	u.connect = u.connectPaho
	if cfg.Password != "" && tlsConfs[brokers[0]] == nil {
		for _, b := range brokers {
			if !loopback(b) {
				log.Warn("the password goes to the broker in the clear: use an ssl:// broker", "broker", b)
				break
			}
		}
	}
	return u, nil
}

// isNil reports whether j is nil or holds a nil pointer (a nil *journal.Store
// passed as a Journal), which would only fail later, at the first call.
func isNil(j Journal) bool {
	if j == nil {
		return true
	}
	v := reflect.ValueOf(j)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return v.IsNil()
	}
	return false
}

// Connected reports whether a connection is up and being drained.
func (u *Uplink) Connected() bool { return u.connected.Load() }

// Broker is the URL of the broker of the connection that is up, as
// configured; "" when none is.
func (u *Uplink) Broker() string {
	c := u.current.Load()
	if c == nil || !u.connected.Load() {
		return ""
	}
	return c.broker
}

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

// SetDegraded records the parts of the pod that are not working, for the
// retained status; when they changed, it is published as soon as a
// connection allows. It never blocks.
func (u *Uplink) SetDegraded(parts []string) {
	u.statusMu.Lock()
	changed := !slices.Equal(parts, u.degraded)
	u.degraded = slices.Clone(parts)
	u.statusMu.Unlock()
	if changed {
		signal(u.statusWake)
	}
}

// Telemetry journals one telemetry record. It returns the record's seq once
// the record is queued in the journal's batch (journal.Store.AppendLazy):
// it is on disk, and sent, within the journal's CommitInterval (10 s by
// default), and a power cut before then loses it, unseen by the hub. On
// failure it returns the journal's error, wrapped (one wrapping
// journal.ErrNotOpen while the journal is not open): nothing is then
// stored, nor sent.
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
	seq, err := u.append(u.topicTelemetry, at, body, true, nil)
	if err != nil {
		return 0, fmt.Errorf("uplink.Telemetry: %w", err)
	}
	return seq, nil
}

// Event journals one event and wakes the drainer. It returns the event's seq
// once it is on disk, with every telemetry record queued before it (a
// journal.Store.Append), or the journal's error, wrapped: nothing is then
// stored, nor sent. An event with Audit set is also an entry of the
// journal's audit log (journal.Store.AppendAudited: its type and fields,
// in the same transaction), and carries the entry's link as "audit":
// {"n", "prev", "hash"}.
func (u *Uplink) Event(e Event, at time.Time) (uint64, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("uplink.Event: %w", err)
	}
	if e.ClearLatch && !e.Audit {
		return 0, errors.New("uplink.Event: ClearLatch needs Audit")
	}
	var audit *auditEntry
	if e.Audit {
		fields := []byte("{}")
		if len(e.Fields) > 0 {
			if fields, err = json.Marshal(e.Fields); err != nil {
				return 0, fmt.Errorf("uplink.Event: %w", err)
			}
		}
		audit = &auditEntry{typ: e.Type, fields: fields, clearLatch: e.ClearLatch}
	}
	seq, err := u.append(u.topicEvents, at, body, false, audit)
	if err != nil {
		return 0, fmt.Errorf("uplink.Event: %w", err)
	}
	return seq, nil
}

// append journals a record, lazily (telemetry) or durably. A durable one
// wakes the drainer; a lazy one is not sent before it is committed, and the
// drainer waits for the journal's commits too (Journal.Committed).
func (u *Uplink) append(topic string, at time.Time, body []byte, lazy bool, audit *auditEntry) (uint64, error) {
	synced := u.cfg.ClockSynced != nil && u.cfg.ClockSynced()
	u.appendMu.Lock()
	defer u.appendMu.Unlock()
	seq, err := u.appendLocked(topic, at, synced, body, lazy, audit)
	if err == nil && !lazy {
		signal(u.wake)
	}
	return seq, err
}

func (u *Uplink) appendLocked(topic string, at time.Time, synced bool, body []byte, lazy bool, audit *auditEntry) (uint64, error) {
	if len(u.unreported) > 0 {
		// A drop whose report failed: reported before anything else.
		if err := u.reportOutboxFull(journal.Dropped{}); err != nil {
			u.log.Error("reporting dropped records", "err", err)
		}
	}
	rec, err := u.appendRecord(topic, at, synced, body, lazy, audit)
	if err != nil {
		return 0, err
	}
	if !rec.Dropped.Empty() {
		u.log.Warn("outbox full: oldest records dropped", "from", rec.Dropped.From, "to", rec.Dropped.To, "count", rec.Dropped.Count)
		if err := u.reportOutboxFull(rec.Dropped); err != nil {
			u.log.Error("reporting dropped records; retried before the next record", "err", err)
		}
	}
	return rec.Seq, nil
}

// reportOutboxFull journals the report of what a full outbox dropped, d
// (none when empty), after the earlier drops whose report failed, each in
// its own report, oldest first; a report that fails is kept, with those
// after it, to be tried again before the next append, so every drop is
// reported (the record the drop made room for is stored already). Drops
// are not merged: the seqs two drops' kept lists leave out between their
// ranges would be neither kept nor dropped in one report. appendMu must
// be held.
func (u *Uplink) reportOutboxFull(d journal.Dropped) error {
	if !d.Empty() {
		u.outboxDropped.Add(d.Count)
		u.unreported = append(u.unreported, d)
	}
	for len(u.unreported) > 0 {
		// Taken off before its report: a drop the report's own append
		// makes is queued behind it, and reported by the call it makes.
		d := u.unreported[0]
		u.unreported = u.unreported[1:]
		if _, err := u.reportDropped(d, "outbox_full", ""); err != nil {
			u.unreported = append([]journal.Dropped{d}, u.unreported...)
			return err
		}
	}
	u.unreported = nil
	return nil
}

// OutboxDropped is the number of records a full outbox let go since the
// uplink was made, each reported in an outbox_full "dropped" event.
func (u *Uplink) OutboxDropped() uint64 { return u.outboxDropped.Load() }

// auditEntry is what an audited event's entry in the audit log holds: the
// event's type and its fields, as a JSON object.
type auditEntry struct {
	typ        string
	fields     []byte
	clearLatch bool // the journal's latch is deleted in the same transaction
}

// appendRecord appends one record with its envelope, with AppendLazy when
// lazy, with AppendAudited when audit is set (the body then gains the
// entry's link); appendMu must be held.
func (u *Uplink) appendRecord(topic string, at time.Time, synced bool, body []byte, lazy bool, audit *auditEntry) (journal.Record, error) {
	build := func(seq uint64) ([]byte, error) {
		return u.envelope.encode(seq, at, synced, body)
	}
	var rec journal.Record
	var err error
	switch {
	case audit != nil:
		build := func(seq uint64, link journal.AuditLink) ([]byte, error) {
			b, err := withAuditLink(body, link)
			if err != nil {
				return nil, err
			}
			return u.envelope.encode(seq, at, synced, b)
		}
		if !audit.clearLatch {
			rec, err = u.store.AppendAudited(topic, at, audit.typ, audit.fields, build)
			break
		}
		lc, ok := u.store.(LatchClearer)
		if !ok {
			return journal.Record{}, errors.New("the journal cannot clear its latch with an audited record")
		}
		rec, err = lc.ClearLatchAudited(topic, at, audit.typ, audit.fields, build)
	case lazy:
		rec, err = u.store.AppendLazy(topic, at, build)
	default:
		rec, err = u.store.Append(topic, at, build)
	}
	if err == nil {
		if c := u.current.Load(); c != nil {
			// Appends are serialised by appendMu, so the first one made on a
			// connection whose boundary is still unknown (the journal was
			// unreadable when it came up) has the lowest seq made on it.
			c.startSeq.CompareAndSwap(0, rec.Seq)
		}
	}
	return rec, err
}

// reportDropped journals a dropped event: from and to the first and last
// seq dropped, count how many records (not to-from+1: a full outbox drops
// telemetry around the events it keeps), kept the seqs between from and
// to still in the outbox (journal.Dropped.Kept; absent when none). Its
// error is the report's own: a drop its append made whose report fails
// is queued (reportOutboxFull) and logged. appendMu must be held.
func (u *Uplink) reportDropped(d journal.Dropped, reason, detail string) (uint64, error) {
	fields := map[string]any{"from": d.From, "to": d.To, "count": d.Count, "reason": reason}
	if len(d.Kept) > 0 {
		fields["kept"] = d.Kept
	}
	if detail != "" {
		fields["error"] = detail
	}
	body, err := json.Marshal(Event{Type: "dropped", Fields: fields})
	if err != nil {
		return 0, err
	}
	at := u.now()
	synced := u.cfg.ClockSynced != nil && u.cfg.ClockSynced()
	rec, err := u.appendRecord(u.topicEvents, at, synced, body, false, nil)
	if err != nil {
		return 0, err
	}
	if !rec.Dropped.Empty() {
		// Only a full outbox does this (a corrupt record discarded while
		// full): the batch this report pushed out is reported in turn. The
		// journal leaves room for that report, so this ends.
		u.log.Warn("outbox full: oldest records dropped", "from", rec.Dropped.From, "to", rec.Dropped.To, "count", rec.Dropped.Count)
		if err := u.reportOutboxFull(rec.Dropped); err != nil {
			u.log.Error("reporting dropped records; retried before the next record", "err", err)
		}
	}
	return rec.Seq, nil
}

func (u *Uplink) status(online bool, at time.Time) []byte {
	st := Status{Online: online, State: "offline", Version: u.cfg.Version, Simulated: u.cfg.Simulated, Since: FormatTime(at), Boot: u.cfg.Boot}
	if online {
		u.statusMu.Lock()
		st.State, st.Since = u.state, FormatTime(u.since)
		st.Degraded = slices.Clone(u.degraded)
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

// faultLog reports a repeating fault once when it starts and once when it
// ends, not once per retry: a journal that fails on every poll must not
// write a line a second to an SD card.
type faultLog struct {
	log         *slog.Logger
	what        string
	consequence string
	failures    int // since the fault started; 0 while healthy
}

func (f *faultLog) fail(err error) {
	f.failures++
	if f.failures == 1 {
		args := []any{"err", err}
		if f.consequence != "" {
			args = append(args, "consequence", f.consequence)
		}
		f.log.Warn(f.what+" failing", args...)
	}
}

func (f *faultLog) ok() {
	if f.failures > 0 {
		f.log.Info(f.what+" recovered", "failures", f.failures)
		f.failures = 0
	}
}

var errConnectionLost = errors.New("connection lost")
