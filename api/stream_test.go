package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/safety"
)

// sseRecorder is a ResponseWriter whose flushed writes arrive on chunks,
// each as one string, for a stream served within a synctest bubble.
type sseRecorder struct {
	header http.Header
	code   int
	mu     sync.Mutex
	buf    strings.Builder
	chunks chan string
}

func newSSERecorder() *sseRecorder {
	return &sseRecorder{header: http.Header{}, chunks: make(chan string, 64)}
}

func (r *sseRecorder) Header() http.Header { return r.header }
func (r *sseRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *sseRecorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(b)
}

func (r *sseRecorder) Flush() {
	r.mu.Lock()
	s := r.buf.String()
	r.buf.Reset()
	r.mu.Unlock()
	r.chunks <- s
}

// events returns the "status" events of the chunks flushed so far,
// without waiting.
func (r *sseRecorder) events(t *testing.T) []View {
	t.Helper()
	var out []View
	for {
		select {
		case c := <-r.chunks:
			out = append(out, parseEvents(t, c)...)
		default:
			return out
		}
	}
}

// parseEvents parses the server-sent events in s, which must be whole
// events: "status" events with one data line each, and retry fields.
func parseEvents(t *testing.T, s string) []View {
	t.Helper()
	var out []View
	for block := range strings.SplitSeq(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		if strings.HasPrefix(block, "retry: ") {
			continue
		}
		event, data, ok := strings.Cut(block, "\n")
		if !ok || event != "event: status" || !strings.HasPrefix(data, "data: ") || strings.Contains(data, "\n") {
			t.Fatalf("event %q, want an event: status line and one data line", block)
		}
		var v View
		if err := json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &v); err != nil {
			t.Fatalf("data %q: %v", data, err)
		}
		out = append(out, v)
	}
	return out
}

// stream serves GET /v1/stream for pod on w until the returned cancel is
// called; done is closed when the handler has returned.
func startStream(pod StatusSource, opts PageOptions, w http.ResponseWriter) (cancel func(), done chan struct{}) {
	opts.StatusPage = true
	h := NewMetricsServer(pod, fakeHealth{}, "127.0.0.1:0", opts).Handler()
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1/v1/stream", nil)
	done = make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, req)
	}()
	return cancel, done
}

// A stream answers as an event stream, sends the pod's view at once, then
// every second, and at once (within StreamPoll) when the state changes; a
// vital that changes waits for the next second.
func TestStreamSendsAtOnceEverySecondAndOnAChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pod := &statusPod{st: fullStatus()}
		w := newSSERecorder()
		cancel, done := startStream(pod, PageOptions{ExposeVitals: true}, w)
		defer func() { cancel(); <-done }()
		synctest.Wait()
		if w.code != http.StatusOK || w.header.Get("Content-Type") != "text/event-stream" || w.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("answer %d %v, want 200 text/event-stream, no-store", w.code, w.header)
		}
		start := time.Now()
		ev := w.events(t)
		if len(ev) != 1 || ev[0].Pod != "pod-7" || ev[0].State != "aborted" || !ev[0].Time.Equal(start) {
			t.Fatalf("events at once = %+v, want one of pod-7, aborted, at %v", ev, start)
		}

		time.Sleep(time.Second - time.Millisecond)
		synctest.Wait()
		if ev := w.events(t); len(ev) != 0 {
			t.Fatalf("%d events before a second passed, want none", len(ev))
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if ev := w.events(t); len(ev) != 1 || !ev[0].Time.Equal(start.Add(time.Second)) {
			t.Fatalf("events at 1 s = %+v, want one", ev)
		}

		// 1.1 s: the pod is acknowledged; the change goes out at the next
		// poll, 1.25 s.
		time.Sleep(100 * time.Millisecond)
		pod.set(func(s *Status) { s.State, s.Safety.Latched, s.Safety.Level = controller.StateIdle, nil, safety.LevelOK })
		time.Sleep(150 * time.Millisecond)
		synctest.Wait()
		ev = w.events(t)
		if len(ev) != 1 || ev[0].State != controller.StateIdle || !ev[0].Time.Equal(start.Add(1250*time.Millisecond)) {
			t.Fatalf("events after the change = %+v, want one, idle, at 1.25 s", ev)
		}

		// 1.3 s: the heart rate changes; it waits for 2.25 s.
		time.Sleep(50 * time.Millisecond)
		pod.set(func(s *Status) { s.Vitals.HeartRateBPM = f64(70) })
		time.Sleep(900 * time.Millisecond) // 2.2 s
		synctest.Wait()
		if ev := w.events(t); len(ev) != 0 {
			t.Fatalf("events for a vital's change = %+v, want none before the second", ev)
		}
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if ev := w.events(t); len(ev) != 1 || *ev[0].Vitals.HeartRateBPM != 70 {
			t.Fatalf("events at 2.25 s = %+v, want one with the new heart rate", ev)
		}
	})
}

// The client going away ends its stream's goroutine at once.
func TestStreamEndsWhenTheClientGoesAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newSSERecorder()
		cancel, done := startStream(&statusPod{st: fullStatus()}, PageOptions{}, w)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if n := len(w.events(t)); n != 4 {
			t.Fatalf("%d events in 3 s, want 4", n)
		}
		cancel()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("the stream goes on after its client went away")
		}
	})
}

// Without ExposeVitals a view holds no vital, no baseline and no value of
// the latched abort; with it, the vitals are there.
func TestTheViewHidesTheVitalsUnlessExposed(t *testing.T) {
	st := fullStatus()
	b, err := json.Marshal(NewView(st, time.Unix(0, 0), false))
	if err != nil {
		t.Fatal(err)
	}
	for _, hidden := range []string{`"vitals":`, `"baseline"`, `"heart_rate_bpm"`, `"spo2_pct"`, `"values"`, `141`, `"contact"`} {
		if strings.Contains(string(b), hidden) {
			t.Errorf("view without vitals holds %s: %s", hidden, b)
		}
	}
	for _, kept := range []string{`"vitals_exposed":false`, `"rule":"heart_rate_high","detail":"","limit":130`, `"session":{"id":"m-9"`} {
		if !strings.Contains(string(b), kept) {
			t.Errorf("view without vitals lacks %s: %s", kept, b)
		}
	}
	if st.Session.Baseline == nil || st.Safety.Latched.Values == nil {
		t.Fatal("NewView modified the status it was given")
	}
	b, _ = json.Marshal(NewView(st, time.Unix(0, 0), true))
	for _, shown := range []string{`"vitals_exposed":true`, `"vitals":{"heart_rate_bpm":61.5,"spo2_pct":96,"contact":"skin"}`, `"baseline":{"heart_rate_bpm":58`, `"values":{"heart_rate_bpm":141}`} {
		if !strings.Contains(string(b), shown) {
			t.Errorf("view with vitals lacks %s: %s", shown, b)
		}
	}
}

// serveReal runs a MetricsServer for pod on a loopback port and returns
// its base URL and stop, which ends Run and fails the test unless Run
// returns nil within 3 s.
func serveReal(t *testing.T, pod StatusSource, opts PageOptions) (url string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return serveAt(t, addr, pod, opts)
}

// serveAt is serveReal on addr.
func serveAt(t *testing.T, addr string, pod StatusSource, opts PageOptions) (url string, stop func()) {
	t.Helper()
	m := NewMetricsServer(pod, fakeHealth{}, addr, opts)
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, func() { close(up) }) }()
	select {
	case <-up:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	return "http://" + addr, func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("Run did not return within 3 s of its end")
		}
	}
}

// openStream opens GET /v1/stream and, when it is answered 200, reads its
// first event; close ends it.
func openStream(t *testing.T, c *http.Client, url string) (resp *http.Response, first View, close func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/stream", nil)
	resp, err := c.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	close = func() { cancel(); resp.Body.Close() }
	if resp.StatusCode != http.StatusOK {
		return resp, View{}, close
	}
	r := bufio.NewReader(resp.Body)
	var block strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			close()
			t.Fatalf("reading the stream: %v", err)
		}
		block.WriteString(line)
		if line == "\n" && strings.Contains(block.String(), "data: ") {
			break
		}
	}
	ev := parseEvents(t, block.String())
	return resp, ev[0], close
}

// At most MaxStreamClients streams are served at once: one more is
// answered 503 with Retry-After and says why; a stream whose client went
// away frees its place, and its goroutine ends (goleak).
func TestStreamClientsAreBoundedAndFreedWhenTheyGoAway(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	url, stop := serveReal(t, &statusPod{st: fullStatus()}, PageOptions{StatusPage: true, MaxStreamClients: 2})
	defer stop()
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	_, a, closeA := openStream(t, c, url)
	_, b, closeB := openStream(t, c, url)
	if a.Pod != "pod-7" || b.Pod != "pod-7" {
		t.Fatalf("first events %q %q, want pod-7", a.Pod, b.Pod)
	}
	resp, _, closeC := openStream(t, c, url)
	body := make([]byte, 200)
	n, _ := resp.Body.Read(body)
	closeC()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" ||
		!strings.Contains(string(body[:n]), "2 status streams are open already") {
		t.Fatalf("a third stream: %d %v %q, want 503 with Retry-After: 5 and the reason", resp.StatusCode, resp.Header, body[:n])
	}
	closeA()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, d, closeD := openStream(t, c, url)
		if resp.StatusCode == http.StatusOK {
			if d.Pod != "pod-7" {
				t.Fatalf("first event %+v", d)
			}
			closeD()
			break
		}
		closeD()
		if time.Now().After(deadline) {
			t.Fatal("the place of a stream whose client went away was not freed within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	closeB()
}

// Run's end ends the streams it serves: the client sees the stream end,
// and Run returns at once rather than waiting out its shutdown.
func TestRunEndsItsStreams(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	url, stop := serveReal(t, &statusPod{st: fullStatus()}, PageOptions{StatusPage: true})
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	resp, _, closeA := openStream(t, c, url)
	defer closeA()
	start := time.Now()
	stop()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Run took %v to return with a stream open, want well under its 2 s shutdown bound", d)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		ended <- err
	}()
	select {
	case err := <-ended:
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("reading the rest of the stream: %v", err)
		}
	case <-time.After(2 * time.Second):
		closeA()
		<-ended
		t.Fatal("the stream went on after Run ended")
	}
}
