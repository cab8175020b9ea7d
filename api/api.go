// Package api is the pod's local API: HTTP with JSON on a Unix socket, for the
// technician's podctl and for the sleeper's local controls.
//
// It owns the socket and the wire format of its requests and replies; what a
// request does is decided by the Pod it is given. The socket is created with
// mode 0660 so only root and the podd group can reach it: the local API is
// trusted as "someone at the pod" and can clear a latched abort.
//
// # The metrics listener and the status page
//
// MetricsServer is the optional loopback TCP listener (api.metrics_listen):
// /metrics, /healthz and, with api.status_page, the status page. It can
// read and change nothing but what Status shows, and any user of the
// machine can connect to it, so the sleeper's vitals are left out of
// /metrics and the page (View) unless api.expose_vitals. Requests must
// name a loopback address or localhost as their Host (421 otherwise): a
// web page in a browser on the pod cannot read the listener through a
// name of its own that resolves to 127.0.0.1 (DNS rebinding).
//
// The page is three embedded files (page/: HTML, script, style), served
// under a Content-Security-Policy that allows nothing from another origin
// and no inline script; it renders with textContent only, so no string of
// the status (an error message) can become markup. It follows GET
// /v1/stream, server-sent events: each event "status" is one View, JSON
// on one data line. A stream sends a View at once, then reads Status
// every StreamPoll (250 ms) and sends when what a technician acts on
// changed (state, safety, rules, outputs, sensors', parts' and uplink's
// states, clock sync, session, show: changeKey) or StreamInterval (1 s)
// has passed, which is also its heartbeat; vitals and counters ride on
// the second's event. Each stream is its request's goroutine, owned by
// net/http: it ends when the client goes away (the request's context),
// when a write stalls for 10 s (a client that stops reading), and when
// Run's context ends (the server's BaseContext is Run's, so Shutdown does
// not wait out open streams). At most PageOptions.MaxStreamClients (4)
// are served at once; another is answered 503 with Retry-After, which
// EventSource treats as final, so the page's script retries it itself
// after 5 s. A stream ended by a restart of podd is reconnected by
// EventSource after the retry the stream asked for (1 s).
package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/safety"
)

// Status is the reply of GET /v1/status; the controller owns its shape.
type Status = controller.Status

// The parts of Status, for clients.
type (
	SimStatus    = controller.SimStatus
	ShowStatus   = controller.ShowStatus
	SafetyStatus = controller.SafetyStatus
	Outputs      = controller.Outputs
	Vitals       = controller.Vitals
	UplinkStatus = controller.UplinkStatus
	PartStatus   = controller.PartStatus
	SensorStatus = controller.SensorStatus
)

// Pod is what the API needs from the controller.
type Pod interface {
	Status() Status
	// Ack clears the latched abort on the request of src. It returns the
	// abort it cleared.
	Ack(ctx context.Context, src controller.AckSource) (safety.Abort, error)
	// GrantConsent records the sleeper's consent for d (0: the pod's
	// default); WithdrawConsent withdraws it, ending a merge at once.
	GrantConsent(source string, d time.Duration) (controller.Consent, error)
	WithdrawConsent(source string) controller.Consent
	// Audit checks the store's audit log: its extent and its first broken
	// link; an error when the store is not open.
	Audit() (AuditReport, error)
}

// ErrRefused marks an Ack error that is the pod's decision (nothing latched,
// an alarm condition still present), not a failure: it is answered 409.
var ErrRefused = controller.ErrRefused

// Server serves the local API on a Unix socket.
type Server struct {
	pod  Pod
	path string
	log  *slog.Logger
	// userName resolves a uid to its user name (os/user).
	userName func(uid string) (string, error)
}

// NewServer returns a server for pod on the socket at path.
func NewServer(pod Pod, path string, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{pod: pod, path: path, log: log, userName: lookupUserName}
}

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.pod.Status())
	})
	mux.HandleFunc("POST /v1/ack", s.ack)
	mux.HandleFunc("GET /v1/audit", s.audit)
	mux.HandleFunc("POST /v1/selftest", s.selfTest)
	s.historyRoutes(mux)
	mux.HandleFunc("POST /v1/identify", s.identify)
	mux.HandleFunc("POST /v1/consent", func(w http.ResponseWriter, r *http.Request) {
		action, d, err := ParseConsentRequest(r.Body)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, ConsentReply{Error: err.Error()})
			return
		}
		var c Consent
		if action == "withdraw" {
			c = s.pod.WithdrawConsent("api")
		} else if c, err = s.pod.GrantConsent("api", d); err != nil {
			writeJSON(w, http.StatusBadRequest, ConsentReply{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, ConsentReply{OK: true, Consent: c})
	})
	return mux
}

// Run listens on the socket and serves until ctx is done, then shuts the
// server down and removes the socket. It calls up, when not nil, once it
// listens.
func (s *Server) Run(ctx context.Context, up func()) error {
	ln, err := Listen(s.path)
	if err != nil {
		return err
	}
	if up != nil {
		up()
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, ConnContext: connContext}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve %s: %w", s.path, err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	<-errc
	_ = os.Remove(s.path)
	if err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	return nil
}

// Listen opens the Unix socket at path with mode 0660. A socket file left by
// a crashed daemon is replaced; a live one (another podd) is an error.
func Listen(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("api: %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("api: %s is in use by another process", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("api: remove stale socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("api: listen: %w", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("api: chmod socket: %w", err)
	}
	return ln, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
