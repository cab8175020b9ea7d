package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sleegation/podd/journal"
)

// fakeToken is a publish token the test completes by hand.
type fakeToken struct {
	done chan struct{}
	once sync.Once
	mu   sync.Mutex
	err  error
}

func newFakeToken() *fakeToken { return &fakeToken{done: make(chan struct{})} }

func (f *fakeToken) complete(err error) {
	f.once.Do(func() {
		f.mu.Lock()
		f.err = err
		f.mu.Unlock()
		close(f.done)
	})
}

func (f *fakeToken) Wait() bool { <-f.done; return true }
func (f *fakeToken) WaitTimeout(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-f.done:
		return true
	case <-t.C:
		return false
	}
}
func (f *fakeToken) Done() <-chan struct{} { return f.done }
func (f *fakeToken) Error() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// subscription is one Subscribe made on a fakeLink.
type subscription struct {
	topic   string
	qos     byte
	handler mqtt.MessageHandler
	tok     *fakeToken
	// published is how many publications preceded it on the link.
	published int
}

// fakeMessage is a message as paho hands it to a subscription's handler.
type fakeMessage struct {
	topic    string
	payload  []byte
	retained bool
}

func (m fakeMessage) Duplicate() bool   { return false }
func (m fakeMessage) Qos() byte         { return 0 }
func (m fakeMessage) Retained() bool    { return m.retained }
func (m fakeMessage) Topic() string     { return m.topic }
func (m fakeMessage) MessageID() uint16 { return 0 }
func (m fakeMessage) Payload() []byte   { return m.payload }
func (m fakeMessage) Ack()              {}

type publication struct {
	topic    string
	retained bool
	payload  []byte
	tok      *fakeToken
}

// fakeLink stands in for a paho client: it records what is published and
// acknowledges status publications at once; records wait for the test.
// Its modes play a broker that stops answering, as paho shows it.
type fakeLink struct {
	mu          sync.Mutex
	pubs        []publication
	subs        []subscription
	disconnects []uint
	// subscribeErr fails every Subscribe's token with it.
	subscribeErr error
	// refuse: the broker refuses every subscription (SUBACK 0x80).
	refuse bool

	// frozen: the broker answers nothing. No token completes, and
	// Disconnect takes its whole quiesce, the longest paho's does.
	frozen bool
	// stalled: paho's writer is stuck on a socket that takes no more bytes,
	// so Publish blocks handing the message over, until abort.
	stalled bool

	aborted        chan struct{} // closed by abort; made on first use
	abortedAt      time.Time
	disconnectedAt time.Time
}

var (
	errFakeClosed       = errors.New("connection lost before Publish completed")
	errFakeNotConnected = errors.New("not Connected")
)

func (l *fakeLink) abortedLocked() chan struct{} {
	if l.aborted == nil {
		l.aborted = make(chan struct{})
	}
	return l.aborted
}

func (l *fakeLink) isAborted() bool {
	l.mu.Lock()
	ch := l.abortedLocked()
	l.mu.Unlock()
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// freeze makes the broker stop answering from now on.
func (l *fakeLink) freeze() { l.mu.Lock(); l.frozen = true; l.mu.Unlock() }

// stall makes every Publish from now on block until abort.
func (l *fakeLink) stall() { l.mu.Lock(); l.stalled = true; l.mu.Unlock() }

func (l *fakeLink) Publish(topic string, qos byte, retained bool, payload any) mqtt.Token {
	l.mu.Lock()
	stalled, aborted := l.stalled, l.abortedLocked()
	l.mu.Unlock()
	if stalled {
		<-aborted
	}
	tok := newFakeToken()
	p := publication{topic: topic, retained: retained, payload: payload.([]byte), tok: tok}
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-aborted:
		tok.complete(errFakeNotConnected)
	default:
		if retained && !l.frozen {
			tok.complete(nil)
		}
	}
	l.pubs = append(l.pubs, p)
	return tok
}

// Subscribe records the subscription; its token completes at once (with
// subscribeErr) unless the broker is frozen.
func (l *fakeLink) Subscribe(topic string, qos byte, handler mqtt.MessageHandler) mqtt.Token {
	l.mu.Lock()
	defer l.mu.Unlock()
	tok := newFakeToken()
	if !l.frozen {
		tok.complete(l.subscribeErr)
	}
	l.subs = append(l.subs, subscription{topic: topic, qos: qos, handler: handler, tok: tok, published: len(l.pubs)})
	if l.refuse {
		return refusedToken{tok}
	}
	return tok
}

// refusedToken is a subscribe token whose SUBACK refused the subscription.
type refusedToken struct{ *fakeToken }

func (refusedToken) Result() map[string]byte { return map[string]byte{"t": 0x80} }

// subscribed is the topics subscribed to, in order.
func (l *fakeLink) subscribed() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, len(l.subs))
	for i, s := range l.subs {
		out[i] = s.topic
	}
	return out
}

// deliver hands a message on topic to every subscription to that topic, as
// the broker would: retained when it is sent because of a subscription.
func (l *fakeLink) deliver(topic string, payload []byte, retained bool) {
	l.mu.Lock()
	var handlers []mqtt.MessageHandler
	for _, s := range l.subs {
		if s.topic == topic {
			handlers = append(handlers, s.handler)
		}
	}
	l.mu.Unlock()
	for _, h := range handlers {
		h(nil, fakeMessage{topic: topic, payload: payload, retained: retained})
	}
}

// abort is what closing the socket under paho does: every pending token
// fails, a blocked Publish returns, later ones fail at once.
func (l *fakeLink) abort() {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := l.abortedLocked()
	select {
	case <-ch:
		return
	default:
	}
	close(ch)
	l.abortedAt = time.Now()
	for _, p := range l.pubs {
		p.tok.complete(errFakeClosed)
	}
}

func (l *fakeLink) Disconnect(quiesce uint) {
	l.mu.Lock()
	frozen := l.frozen
	l.disconnects = append(l.disconnects, quiesce)
	l.mu.Unlock()
	if frozen {
		time.Sleep(time.Duration(quiesce) * time.Millisecond)
	}
	l.mu.Lock()
	l.disconnectedAt = time.Now()
	l.mu.Unlock()
}

// published is every publication, in order.
func (l *fakeLink) published() []publication {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.pubs)
}

// records are the non-retained publications, in order.
func (l *fakeLink) records() []publication {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []publication
	for _, p := range l.pubs {
		if !p.retained {
			out = append(out, p)
		}
	}
	return out
}

func (l *fakeLink) statuses(t *testing.T) []Status {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Status
	for _, p := range l.pubs {
		if p.retained {
			var s Status
			if err := json.Unmarshal(p.payload, &s); err != nil {
				t.Fatalf("status payload %q: %v", p.payload, err)
			}
			out = append(out, s)
		}
	}
	return out
}

// wireMessage is a telemetry or event message as a subscriber decodes it.
type wireMessage struct {
	Header
	Type string `json:"type"`
}

func decode(t *testing.T, b []byte) wireMessage {
	t.Helper()
	var m wireMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("payload %q: %v", b, err)
	}
	return m
}

func seqsOf(t *testing.T, pubs []publication) []uint64 {
	t.Helper()
	out := make([]uint64, len(pubs))
	for i, p := range pubs {
		out[i] = decode(t, p.payload).Seq
	}
	return out
}

func openStore(t *testing.T, opts *journal.Options) *journal.Store {
	t.Helper()
	s, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newTestUplink(t *testing.T, store Journal, mod func(*Config)) *Uplink {
	t.Helper()
	cfg := Config{
		Broker: "tcp://127.0.0.1:1", Pod: "p1", Boot: "b1", Version: "test",
		PublishTimeout: 5 * time.Second, Window: 4,
		Backoff: BackoffPolicy{Initial: 100 * time.Millisecond, Max: time.Second, Jitter: 0.5},
	}
	if mod != nil {
		mod(&cfg)
	}
	u, err := New(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// fakeConn is a connection over l made current the way OnConnect does it.
func fakeConn(t *testing.T, u *Uplink, l *fakeLink) *conn {
	t.Helper()
	c := newConn()
	c.link = l
	c.abort = l.abort
	c.epoch = u.epoch.Add(1)
	return c
}

// telemetry appends n telemetry records and commits them, so that they are
// visible to the drainer at once, as a commit of the journal's batch makes
// them.
func telemetry(t *testing.T, u *Uplink, n int) {
	t.Helper()
	for range n {
		if _, err := u.Telemetry(Telemetry{State: "idle", Safety: "ok"}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	commitJournal(t, u.store)
}

// commitJournal commits the batch of the journal j is or wraps.
func commitJournal(t *testing.T, j Journal) {
	t.Helper()
	if f, ok := j.(*faultyJournal); ok {
		j = f.Journal
	}
	c, ok := j.(interface{ Commit() error })
	if !ok {
		t.Fatalf("%T cannot commit", j)
	}
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}
}

func outbox(t *testing.T, s Journal) []uint64 {
	t.Helper()
	recs, err := s.Pending(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

// serveInBackground runs u.serve until the test ends or stop is called;
// stop cancels it and returns its error, which done also delivers.
func serveInBackground(t *testing.T, u *Uplink, c *conn) (stop func() error, done <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	fin := make(chan struct{})
	var err error
	go func() {
		err = u.serve(ctx, c)
		close(fin)
		ch <- err
	}()
	stop = func() error {
		cancel()
		<-fin
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop, ch
}

// logRecorder keeps the messages logged through it, at every level, for
// tests that count how often a fault is reported; lines keeps each with its
// attributes, "msg key=value ...".
type logRecorder struct {
	mu    sync.Mutex
	msgs  []string
	lines []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}

// logged is every line whose message is msg, with its attributes.
func (l *logRecorder) logged(msg string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for i, m := range l.msgs {
		if m == msg {
			out = append(out, l.lines[i])
		}
	}
	return out
}

// count is how many times msg was logged.
func (l *logRecorder) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m == msg {
			n++
		}
	}
	return n
}
