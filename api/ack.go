package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/user"
	"strconv"

	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/safety"
)

// AckRequest is the body of POST /v1/ack: empty, or {"note": "..."}, the
// caller's free text recorded beside the acknowledgement (at most
// controller.MaxAckNote characters once cleaned, see
// controller.CleanAckNote). Who asked is not in the body: the pod takes it
// from the socket (the caller's uid and pid, SO_PEERCRED).
type AckRequest struct {
	Note string `json:"note,omitempty"`
}

// AckReply is the reply of POST /v1/ack: the abort cleared and who cleared
// it, as recorded, or the pod's reason for refusing.
type AckReply struct {
	OK      bool                  `json:"ok"`
	Cleared *safety.Abort         `json:"cleared,omitempty"`
	By      *controller.AckSource `json:"by,omitempty"`
	Error   string                `json:"error,omitempty"`
}

// maxAckBody bounds an ack request's body: a note of MaxAckNote characters
// written entirely as JSON escapes (\uXXXX, surrogate pairs twice) is
// under 2.5 kB.
const maxAckBody = 4096

// ParseAckRequest decodes and checks an ack request: an empty body (no
// note), or one JSON object with "note" only, nothing after it, at most
// maxAckBody bytes, the note one controller.CleanAckNote accepts. It
// returns the note cleaned. A bad request changes nothing: the error says
// what is wrong.
func ParseAckRequest(r io.Reader) (note string, err error) {
	var req AckRequest
	empty, err := decodeRequest(r, maxAckBody, true, &req, `request is not an ack object (want nothing, or {"note": "..."})`)
	if err != nil || empty {
		return "", err
	}
	return controller.CleanAckNote(req.Note)
}

// peer is what the kernel says of the process at the other end of one
// connection to the socket.
type peer struct {
	uid uint32
	pid int32
	err error
}

type peerKey struct{}

// connContext records the connection's peer credentials in the context of
// each request on it (http.Server.ConnContext). A connection that is not
// a Unix socket's has none.
func connContext(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return context.WithValue(ctx, peerKey{}, peer{err: fmt.Errorf("api: peer credentials: a %T is not a Unix socket's", c)})
	}
	uid, pid, err := peerCred(uc)
	return context.WithValue(ctx, peerKey{}, peer{uid: uid, pid: pid, err: err})
}

// caller is who asked, from the connection's peer credentials: an error
// when there are none. The user name is uid's on the pod (os/user), ""
// when it does not resolve.
func (s *Server) caller(ctx context.Context, note string) (controller.AckSource, error) {
	p, ok := ctx.Value(peerKey{}).(peer)
	if !ok {
		return controller.AckSource{}, errors.New("api: peer credentials: the request did not come through the pod's socket")
	}
	if p.err != nil {
		return controller.AckSource{}, p.err
	}
	src := controller.AckSource{Kind: controller.AckByAPI, UID: &p.uid, PID: &p.pid, Note: note}
	if name, err := s.userName(strconv.FormatUint(uint64(p.uid), 10)); err == nil {
		src.User = name
	}
	return src, nil
}

func lookupUserName(uid string) (string, error) {
	u, err := user.LookupId(uid)
	if err != nil {
		return "", err
	}
	return u.Username, nil
}

// ack serves POST /v1/ack: 400 for a bad body, 403 when the caller's
// identity cannot be established, 409 for the pod's refusal, 500 for a
// failure, 200 with the abort cleared and who cleared it.
func (s *Server) ack(w http.ResponseWriter, r *http.Request) {
	note, err := ParseAckRequest(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, AckReply{Error: err.Error()})
		return
	}
	src, err := s.caller(r.Context(), note)
	if err != nil {
		s.log.Warn("ack refused: the caller's identity is unknown", "err", err)
		writeJSON(w, http.StatusForbidden, AckReply{Error: "the caller's identity cannot be established, so the acknowledgement cannot be recorded: " + err.Error()})
		return
	}
	a, err := s.pod.Ack(r.Context(), src)
	switch {
	case errors.Is(err, ErrRefused):
		writeJSON(w, http.StatusConflict, AckReply{Error: err.Error()})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, AckReply{Error: err.Error()})
	default:
		writeJSON(w, http.StatusOK, AckReply{OK: true, Cleared: &a, By: &src})
	}
}
