package api

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"time"
)

// The status page's stream (GET /v1/stream, server-sent events).
const (
	// StreamInterval is the longest time between two events of a stream:
	// the pod's status is sent at least this often, which is also the
	// stream's heartbeat (the page calls its data stale after 3 s without
	// one).
	StreamInterval = time.Second
	// StreamPoll is how often a stream reads the status to notice a
	// change, sent at once rather than at the next StreamInterval.
	StreamPoll = 250 * time.Millisecond
	// DefaultMaxStreamClients bounds the streams served at once when
	// PageOptions.MaxStreamClients is zero; one more is answered 503.
	DefaultMaxStreamClients = 4
	// streamWriteTimeout bounds each write of a stream: a client that
	// stops reading ends its stream (and frees its slot) after it.
	streamWriteTimeout = 10 * time.Second
	// streamRetry is the reconnection delay the stream asks of
	// EventSource, milliseconds.
	streamRetry = 1000
)

//go:embed page
var pageFiles embed.FS

// PageOptions configure the status page and /metrics.
type PageOptions struct {
	// StatusPage serves the page (GET /) and its stream (GET /v1/stream):
	// api.status_page.
	StatusPage bool
	// ExposeVitals puts the sleeper's vitals on the page and in /metrics:
	// api.expose_vitals.
	ExposeVitals bool
	// MaxStreamClients bounds the streams served at once;
	// DefaultMaxStreamClients when zero.
	MaxStreamClients int
}

// StatusSource is what the status page and the metrics read: the pod's
// Status (controller.Pod, or any Pod).
type StatusSource interface {
	Status() Status
}

// statusPage serves the page and its stream.
type statusPage struct {
	pod    StatusSource
	vitals bool
	slots  chan struct{} // one per stream being served
	files  http.Handler
}

func newStatusPage(pod StatusSource, opts PageOptions) *statusPage {
	n := opts.MaxStreamClients
	if n <= 0 {
		n = DefaultMaxStreamClients
	}
	sub, err := fs.Sub(pageFiles, "page")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	return &statusPage{pod: pod, vitals: opts.ExposeVitals, slots: make(chan struct{}, n), files: http.FileServerFS(sub)}
}

// pageCSP allows the page its own script, style and stream, and nothing
// else: no other origin, no inline script, no framing.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// serveFile serves the page's files (index.html, page.js, page.css).
func (p *statusPage) serveFile(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	p.files.ServeHTTP(w, r)
}

// stream serves GET /v1/stream: an event "status" holding a View at once,
// then whenever the view changes (checked every StreamPoll) and at least
// every StreamInterval, until the client goes away, the server stops, or
// a write stalls for streamWriteTimeout. At most cap(slots) streams are
// served at once; another is answered 503 with Retry-After.
func (p *statusPage) stream(w http.ResponseWriter, r *http.Request) {
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	default:
		w.Header().Set("Retry-After", "5")
		http.Error(w, fmt.Sprintf("api: %d status streams are open already, the most served at once: close a page", cap(p.slots)), http.StatusServiceUnavailable)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)

	var buf bytes.Buffer
	send := func(v View) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		buf.Reset()
		buf.WriteString("event: status\ndata: ")
		buf.Write(b)
		buf.WriteString("\n\n")
		// Not every ResponseWriter has deadlines (a test's recorder):
		// ErrNotSupported leaves the write unbounded.
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		return rc.Flush()
	}
	_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if _, err := w.Write([]byte("retry: " + strconv.Itoa(streamRetry) + "\n\n")); err != nil {
		return
	}
	v := p.view()
	if send(v) != nil {
		return
	}
	last, key := time.Now(), changeKey(v)
	t := time.NewTicker(StreamPoll)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
		v := p.view()
		k := changeKey(v)
		if bytes.Equal(k, key) && time.Since(last) < StreamInterval {
			continue
		}
		if send(v) != nil {
			return
		}
		last, key = time.Now(), k
	}
}

func (p *statusPage) view() View { return NewView(p.pod.Status(), time.Now(), p.vitals) }

// changeKey is what of a view, changed, is sent at once: the state, the
// safety watchdog's level, latch and rules, the outputs, the sensors',
// parts' and uplink's states, the clock's sync and the show's playing.
// Vitals, counters and times wait for the next StreamInterval.
func changeKey(v View) []byte {
	type named struct{ Name, State string }
	k := struct {
		State, Level, Latch string
		Latched             string
		Rules               []RuleState
		Outputs             Outputs
		Sensors, Parts      []named
		Connected           bool
		Duplicate, Hub      string
		ClockSynced         bool
		Session             string
		Playing             bool
		Program, SelfTest   string
		Limited             []string
	}{
		State: v.State, Level: v.Safety.Level, Latch: v.Safety.Latch, Rules: v.Rules,
		Outputs: v.Outputs, Connected: v.Uplink.Connected, Duplicate: v.Uplink.Duplicate, Hub: v.Uplink.Hub,
		ClockSynced: v.ClockSynced,
	}
	if v.Safety.Latched != nil {
		k.Latched = v.Safety.Latched.Rule + " " + v.Safety.Latched.At.String()
	}
	for _, s := range v.Sensors {
		k.Sensors = append(k.Sensors, named{s.Name, s.State})
	}
	for _, s := range v.Parts {
		k.Parts = append(k.Parts, named{s.Name, s.State})
	}
	if v.Session != nil {
		k.Session = v.Session.ID + " " + v.Session.State
	}
	if v.Show != nil {
		k.Playing, k.Program, k.SelfTest, k.Limited = v.Show.Playing, v.Show.Program, v.Show.SelfTest, v.Show.Limited
	}
	b, _ := json.Marshal(k) // plain strings, bools and slices of them: cannot fail
	return b
}
