package api

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sleegation/podd/controller"
)

func TestParseAckRequest(t *testing.T) {
	tests := []struct {
		body, note, err string
	}{
		{``, "", ""},
		{" \n", "", ""},
		{`{}`, "", ""},
		{`{"note": "electrode refixed"}`, "electrode refixed", ""},
		{`{"note": "  two\nlines  "}` + "\n", "two lines", ""},
		{`{"note": "\u00e9t\u00e9"}`, "été", ""},
		{`{"note": "\u001b[2J"}`, "", "note has the control or format character U+001B at byte 0: write plain text"},
		{`{"note": "` + strings.Repeat("x", 201) + `"}`, "", "note is 201 characters long, more than 200"},
		{`{"note": "ok", "uid": 0}`, "", `request is not an ack object (want nothing, or {"note": "..."}): json: unknown field "uid"`},
		{`{"note": "ok", "user": "root"}`, "", `request is not an ack object (want nothing, or {"note": "..."}): json: unknown field "user"`},
		{`{"note": 7}`, "", "request is not an ack object"},
		{`{"note": "a"} {"note": "b"}`, "", "request has data after its object"},
		{`"note"`, "", "request is not an ack object"},
		{`{"note": "` + strings.Repeat("x", 5000) + `"}`, "", "request larger than 4096 bytes"},
	}
	for _, tt := range tests {
		note, err := ParseAckRequest(strings.NewReader(tt.body))
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) || note != "" {
				t.Errorf("%.60s: %q, %v; want error %q", tt.body, note, err, tt.err)
			}
			continue
		}
		if err != nil || note != tt.note {
			t.Errorf("%.60s: %q, %v; want %q", tt.body, note, err, tt.note)
		}
	}
}

// Over the socket, the pod hears who asked from the kernel: this test's
// uid and pid, and the uid's user name, with the note cleaned; the reply
// says so.
func TestAnAckOverTheSocketNamesTheCallerByItsCredentials(t *testing.T) {
	pod := &fakePod{state: "aborted"}
	c, _ := serve(t, pod)
	r, err := c.Ack(context.Background(), " electrode refixed,\n sleeper awake ")
	if err != nil || !r.OK {
		t.Fatalf("Ack = %+v, %v", r, err)
	}
	uid, pid := uint32(os.Getuid()), int32(os.Getpid())
	want := controller.AckSource{Kind: controller.AckByAPI, UID: &uid, PID: &pid, Note: "electrode refixed, sleeper awake"}
	if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil {
		want.User = u.Username
	}
	if len(pod.ackSrc) != 1 || !reflect.DeepEqual(pod.ackSrc[0], want) {
		t.Fatalf("the pod heard %+v; want %+v", pod.ackSrc, want)
	}
	if r.By == nil || !reflect.DeepEqual(*r.By, want) {
		t.Fatalf("reply by %+v; want %+v", r.By, want)
	}
}

// A uid without a user name on the pod is recorded without one.
func TestAnAckFromAUIDWithoutAName(t *testing.T) {
	pod := &fakePod{state: "aborted"}
	path := shortSocket(t)
	srv := NewServer(pod, path, nil)
	srv.userName = func(string) (string, error) { return "", user.UnknownUserIdError(4321) }
	done := make(chan error, 1)
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ConnContext: connContext}
	go func() { done <- hs.Serve(ln) }()
	defer func() {
		if err := hs.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		<-done
	}()
	c := NewClient(path)
	defer c.Close()
	if _, err := c.Ack(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if len(pod.ackSrc) != 1 || pod.ackSrc[0].User != "" || pod.ackSrc[0].UID == nil || *pod.ackSrc[0].UID != uint32(os.Getuid()) {
		t.Fatalf("the pod heard %+v; want uid %d without a user name", pod.ackSrc, os.Getuid())
	}
}

// A body that claims an identity is refused (400) and reaches nothing of
// the pod: who asked is the kernel's to say, never the client's.
func TestAnAckClaimingAnIdentityIsRefused(t *testing.T) {
	pod := &fakePod{state: "aborted"}
	_, path := serve(t, pod)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post("http://podd/v1/ack", "application/json", strings.NewReader(`{"note": "me", "uid": 0, "user": "root"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `unknown field \"uid\"`) || pod.acks != 0 {
		t.Fatalf("%d %s, %d acks; want 400 naming uid, no ack", resp.StatusCode, body, pod.acks)
	}
}

// A request whose peer cannot be established (not through the socket) is
// refused an acknowledgement, 403, and reaches nothing of the pod.
func TestAnAckWithoutPeerCredentialsIsRefused(t *testing.T) {
	pod := &fakePod{state: "aborted"}
	h := NewServer(pod, "", nil).Handler()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/ack", strings.NewReader(`{"note": "x"}`)))
	want := `{"ok":false,"error":"the caller's identity cannot be established, so the acknowledgement cannot be recorded: api: peer credentials: the request did not come through the pod's socket"}` + "\n"
	if w.Code != http.StatusForbidden || w.Body.String() != want || pod.acks != 0 {
		t.Fatalf("%d %s, %d acks; want 403 %s, no ack", w.Code, w.Body, pod.acks, want)
	}
	// A connection that is not a Unix socket's has no peer credentials.
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	p, _ := connContext(context.Background(), a).Value(peerKey{}).(peer)
	if p.err == nil || p.err.Error() != "api: peer credentials: a *net.pipe is not a Unix socket's" {
		t.Fatalf("peer of a pipe: %+v", p)
	}
}

// Whatever the body, the handler answers 200 or 400, never panics; a 200
// reaches the pod once with the caller's credentials and a clean note, a
// 400 reaches nothing.
func FuzzAckRequest(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"note":"ok"}`, `{"note":"\u202e"}`, `{"note":"a","uid":0}`, `{`, `null`, `{"note":null}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pod := &fakePod{}
		srv := NewServer(pod, "", nil)
		srv.userName = func(string) (string, error) { return "tech", nil }
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/v1/ack", bytes.NewReader(body))
		req = req.WithContext(context.WithValue(req.Context(), peerKey{}, peer{uid: 1000, pid: 7}))
		srv.Handler().ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK:
			if len(pod.ackSrc) != 1 {
				t.Fatalf("200 after %d calls to the pod", len(pod.ackSrc))
			}
			s := pod.ackSrc[0]
			clean, err := controller.CleanAckNote(s.Note)
			if s.Kind != controller.AckByAPI || *s.UID != 1000 || *s.PID != 7 || s.User != "tech" || err != nil || clean != s.Note {
				t.Fatalf("the pod heard %+v", s)
			}
		case http.StatusBadRequest:
			if len(pod.ackSrc) != 0 {
				t.Fatalf("400 after the pod was called: %+v", pod.ackSrc)
			}
		default:
			t.Fatalf("status %d for %q", w.Code, body)
		}
	})
}
