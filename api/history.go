package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/journal"
)

// HistoryPod is what the history's routes need from the pod; a Pod that
// is not one answers them 503.
type HistoryPod interface {
	History(kind journal.HistoryKind, q journal.HistoryQuery) (journal.HistoryPage, error)
	HistorySessions() ([]journal.HistorySession, error)
}

// The bounds of the history's replies.
const (
	// DefaultEventsLimit and DefaultPointsLimit are the entries a reply
	// holds when the request names no limit; journal.MaxHistoryReply is
	// the most it may name.
	DefaultEventsLimit = 500
	DefaultPointsLimit = journal.MaxHistoryReply
	// maxReplyBytes bounds the entries' bytes in one reply: a reply that
	// would pass it stops short (More, and Cursor at its last entry).
	maxReplyBytes = 4 << 20
	// maxKinds is the most event types one request may name.
	maxKinds = 32
	// MaxSince is the longest "since" duration: the history's longest
	// retention.
	MaxSince = journal.MaxHistoryRetention
)

// HistoryEvent is one event of the pod's history: its time, type, the merge
// session under way then, and its body as stored (type and fields, without
// the MQTT envelope).
type HistoryEvent struct {
	Seq     uint64          `json:"seq"`
	At      time.Time       `json:"at"`
	Type    string          `json:"type"`
	Session string          `json:"session,omitempty"`
	Body    json.RawMessage `json:"body"`
}

// HistoryPoint is one vitals point of the pod's history, with its seq.
type HistoryPoint struct {
	Seq uint64 `json:"seq"`
	controller.HistoryPoint
}

// HistorySession is a merge session the history holds points of.
type HistorySession = journal.HistorySession

// EventsReply is the reply of GET /v1/events. Cursor is the after= of the
// next request: it follows the last entry looked at, so a follower sees
// each event once and none is skipped. First is the oldest seq kept: a
// follower whose cursor is below First-1 lost events to pruning.
type EventsReply struct {
	Events  []HistoryEvent `json:"events"`
	Cursor  uint64         `json:"cursor"`
	More    bool           `json:"more"`
	First   uint64         `json:"first"`
	Corrupt int            `json:"corrupt,omitempty"`
	Error   string         `json:"error,omitempty"`
}

// HistoryReply is the reply of GET /v1/history: the vitals points, and the
// cursor as in EventsReply.
type HistoryReply struct {
	Points  []HistoryPoint `json:"points"`
	Cursor  uint64         `json:"cursor"`
	More    bool           `json:"more"`
	First   uint64         `json:"first"`
	Corrupt int            `json:"corrupt,omitempty"`
	Error   string         `json:"error,omitempty"`
}

// SessionsReply is the reply of GET /v1/history/sessions.
type SessionsReply struct {
	Sessions []HistorySession `json:"sessions"`
	Error    string           `json:"error,omitempty"`
}

var kindPattern = regexp.MustCompile(`^[a-z][a-z_]{0,31}$`)

// ParseEventsQuery reads the query of GET /v1/events:
//
//	since  a duration back from now (Go syntax: "30m", "12h"; at most
//	       2160h) or an RFC 3339 time; events at or after it
//	after  a seq (decimal): events after it (a follower's cursor)
//	kind   event types, comma-separated ("abort,fault"), each [a-z_]
//	       of at most 32 characters, at most 32 of them
//	limit  1..journal.MaxHistoryReply (default DefaultEventsLimit)
//
// Any other parameter, one given twice or an empty value is an error
// naming it; nothing is read then.
func ParseEventsQuery(v url.Values, now time.Time) (journal.HistoryQuery, error) {
	q := journal.HistoryQuery{Limit: DefaultEventsLimit}
	err := eachParam(v, func(name, val string) error {
		var err error
		switch name {
		case "since":
			q.From, err = parseSince(val, now)
		case "after":
			q.After, err = strconv.ParseUint(val, 10, 64)
			if err != nil {
				err = errors.New("is not a seq (a decimal number)")
			}
		case "kind":
			q.Types, err = parseKinds(val)
		case "limit":
			q.Limit, err = parseLimit(val)
		default:
			return errUnknownParam
		}
		return err
	})
	return q, err
}

// ParseHistoryQuery reads the query of GET /v1/history:
//
//	from, to  RFC 3339 times: points whose window starts at or after
//	          from and before to (from before to)
//	session   a merge session's ID: only its points
//	after     a seq: points after it
//	limit     1..journal.MaxHistoryReply (default DefaultPointsLimit)
//
// Errors as ParseEventsQuery's.
func ParseHistoryQuery(v url.Values) (journal.HistoryQuery, error) {
	q := journal.HistoryQuery{Limit: DefaultPointsLimit}
	err := eachParam(v, func(name, val string) error {
		var err error
		switch name {
		case "from", "to":
			var t time.Time
			if t, err = time.Parse(time.RFC3339Nano, val); err != nil {
				return errors.New("is not an RFC 3339 time (e.g. 2026-11-30T22:00:00Z)")
			}
			if name == "from" {
				q.From = t
			} else {
				q.To = t
			}
		case "session":
			if len(val) > 255 {
				return errors.New("is longer than 255 bytes")
			}
			q.Session = val
		case "after":
			q.After, err = strconv.ParseUint(val, 10, 64)
			if err != nil {
				err = errors.New("is not a seq (a decimal number)")
			}
		case "limit":
			q.Limit, err = parseLimit(val)
		default:
			return errUnknownParam
		}
		return err
	})
	if err != nil {
		return q, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, fmt.Errorf("from %s is not before to %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	return q, nil
}

var errUnknownParam = errors.New("is not a parameter of this route")

// eachParam calls f for each parameter, in name order, refusing one
// given twice or empty; f's error is returned naming the parameter.
func eachParam(v url.Values, f func(name, val string) error) error {
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		vals := v[name]
		switch {
		case len(vals) != 1:
			return fmt.Errorf("%s: given %d times; give it once", quoteParam(name), len(vals))
		case vals[0] == "":
			return fmt.Errorf("%s: is empty", quoteParam(name))
		}
		if err := f(name, vals[0]); err != nil {
			return fmt.Errorf("%s=%s: %w", quoteParam(name), quoteParam(vals[0]), err)
		}
	}
	return nil
}

// quoteParam quotes a parameter for an error: at most 64 bytes, as Go.
func quoteParam(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

func parseSince(val string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, val); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(val)
	if err != nil {
		return time.Time{}, errors.New(`is neither a duration back from now ("30m", "12h") nor an RFC 3339 time`)
	}
	if d <= 0 || d > MaxSince {
		return time.Time{}, fmt.Errorf("is outside 1ns..%v", MaxSince)
	}
	return now.Add(-d), nil
}

func parseKinds(val string) ([]string, error) {
	kinds := strings.Split(val, ",")
	if len(kinds) > maxKinds {
		return nil, fmt.Errorf("names %d types, more than %d", len(kinds), maxKinds)
	}
	for _, k := range kinds {
		if !kindPattern.MatchString(k) {
			return nil, fmt.Errorf("%q is not an event type ([a-z_], at most 32)", k)
		}
	}
	return kinds, nil
}

func parseLimit(val string) (int, error) {
	n, err := strconv.Atoi(val)
	if err != nil || n < 1 || n > journal.MaxHistoryReply {
		return 0, fmt.Errorf("is outside 1..%d", journal.MaxHistoryReply)
	}
	return n, nil
}

// trimPage cuts p's entries where their bytes pass maxReplyBytes, and
// moves the cursor back to the last entry kept.
func trimPage(p *journal.HistoryPage) {
	total := 0
	for i, e := range p.Entries {
		total += len(e.Data) + 128
		if total > maxReplyBytes && i > 0 {
			p.Entries = p.Entries[:i]
			p.Cursor = p.Entries[i-1].Seq
			p.More = true
			return
		}
	}
}

// historyRoutes serves the history: GET /v1/events, /v1/history and
// /v1/history/sessions.
func (s *Server) historyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/events", s.events)
	mux.HandleFunc("GET /v1/history", s.history)
	mux.HandleFunc("GET /v1/history/sessions", s.sessions)
}

func (s *Server) historyPod(w http.ResponseWriter, reply func(error) any) (HistoryPod, bool) {
	h, ok := s.pod.(HistoryPod)
	if !ok {
		writeJSON(w, http.StatusServiceUnavailable, reply(errors.New("this pod keeps no history")))
	}
	return h, ok
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fail := func(err error) any { return EventsReply{Error: err.Error()} }
	h, ok := s.historyPod(w, fail)
	if !ok {
		return
	}
	q, err := ParseEventsQuery(r.URL.Query(), time.Now())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, fail(err))
		return
	}
	p, err := h.History(journal.HistoryEvents, q)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, fail(err))
		return
	}
	trimPage(&p)
	out := EventsReply{Events: make([]HistoryEvent, 0, len(p.Entries)), Cursor: p.Cursor, More: p.More, First: p.First, Corrupt: p.Corrupt}
	for _, e := range p.Entries {
		body := json.RawMessage(e.Data)
		if !json.Valid(body) {
			out.Corrupt++
			continue
		}
		out.Events = append(out.Events, HistoryEvent{Seq: e.Seq, At: e.At, Type: e.Type, Session: e.Session, Body: body})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	fail := func(err error) any { return HistoryReply{Error: err.Error()} }
	h, ok := s.historyPod(w, fail)
	if !ok {
		return
	}
	q, err := ParseHistoryQuery(r.URL.Query())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, fail(err))
		return
	}
	p, err := h.History(journal.HistoryVitals, q)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, fail(err))
		return
	}
	trimPage(&p)
	out := HistoryReply{Points: make([]HistoryPoint, 0, len(p.Entries)), Cursor: p.Cursor, More: p.More, First: p.First, Corrupt: p.Corrupt}
	for _, e := range p.Entries {
		pt := HistoryPoint{Seq: e.Seq}
		if err := json.Unmarshal(e.Data, &pt.HistoryPoint); err != nil {
			out.Corrupt++
			continue
		}
		out.Points = append(out.Points, pt)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) sessions(w http.ResponseWriter, r *http.Request) {
	fail := func(err error) any { return SessionsReply{Error: err.Error()} }
	h, ok := s.historyPod(w, fail)
	if !ok {
		return
	}
	if len(r.URL.Query()) > 0 {
		writeJSON(w, http.StatusBadRequest, fail(errors.New("this route takes no parameters")))
		return
	}
	ss, err := h.HistorySessions()
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, fail(err))
		return
	}
	if ss == nil {
		ss = []HistorySession{}
	}
	writeJSON(w, http.StatusOK, SessionsReply{Sessions: ss})
}

// maxHistoryReply bounds what the client reads of a history reply: the
// server's maxReplyBytes of entries and their JSON around them.
const maxHistoryReply = 16 << 20

// Events asks for the pod's events (GET /v1/events) with the query q
// built by EventsValues.
func (c *Client) Events(ctx context.Context, q url.Values) (EventsReply, error) {
	var r EventsReply
	err := c.getHistory(ctx, "/v1/events", q, &r, func() string { return r.Error })
	return r, err
}

// History asks for the pod's vitals points (GET /v1/history).
func (c *Client) History(ctx context.Context, q url.Values) (HistoryReply, error) {
	var r HistoryReply
	err := c.getHistory(ctx, "/v1/history", q, &r, func() string { return r.Error })
	return r, err
}

// Sessions asks for the merge sessions the history holds
// (GET /v1/history/sessions).
func (c *Client) Sessions(ctx context.Context) (SessionsReply, error) {
	var r SessionsReply
	err := c.getHistory(ctx, "/v1/history/sessions", nil, &r, func() string { return r.Error })
	return r, err
}

func (c *Client) getHistory(ctx context.Context, path string, q url.Values, out any, reason func() string) error {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://podd"+path, nil)
	if err != nil {
		return fmt.Errorf("api: GET %s: %w", path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("api: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxHistoryReply+1))
	switch {
	case err != nil:
		return fmt.Errorf("api: GET %s: read reply: %w", path, err)
	case len(b) > maxHistoryReply:
		return fmt.Errorf("api: GET %s: reply longer than %d bytes", path, maxHistoryReply)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("api: GET %s: decode reply (%d): %w", path, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("api: GET %s: %d: %s", path, resp.StatusCode, reason())
	}
	return nil
}
