package controller

import (
	"encoding/json"
	"time"

	"github.com/sleegation/podd/journal"
)

// auditReader reads the audit log's entries (journal.Store.AuditEntries);
// a Store that has it lets the pod find, after a start, the latest
// acknowledgement an earlier run recorded.
type auditReader interface {
	AuditExtent() (first, last uint64, err error)
	AuditEntries(after uint64, max int) ([]journal.AuditEntry, error)
}

// lastAckScan bounds how far back from the log's last entry the start
// looks for the latest ack: at a few dozen audited events a night, weeks of
// them. An ack older than that is not shown (the log keeps it).
const (
	lastAckScan = 2048
	lastAckPage = 256
)

// readLastAck finds the latest "ack" entry of the store's audit log, for
// Status's LastAck after a start, unless an ack since the start is newer.
// It runs once, on the recorder's goroutine, when the store first opens; a
// store without an audit reader, an unreadable log or no ack within
// lastAckScan entries leaves LastAck as it is.
func (p *Pod) readLastAck() {
	r, ok := p.parts.Store.(auditReader)
	if !ok {
		return
	}
	first, last, err := r.AuditExtent()
	if err != nil || last == 0 {
		return
	}
	// An ack of the abort the stored latch still holds never took
	// effect (ack in recorder.go writes the latch back).
	held := p.latch().stored
	void := func(l LastAck) bool {
		return held != nil && l.Rule == held.Rule && l.DetectedAt.Equal(held.At)
	}
	stop := first
	if last-first >= lastAckScan {
		stop = last - lastAckScan + 1
	}
	for end := last; end >= stop; {
		from := max(stop, end-min(end, lastAckPage-1))
		es, err := r.AuditEntries(from-1, int(end-from+1))
		if err != nil {
			p.log.Warn("the last acknowledgement cannot be read from the audit log", "err", err)
			return
		}
		for i := len(es) - 1; i >= 0; i-- {
			if l, ok := decodeAckEntry(es[i].Raw); ok {
				if void(l) {
					// Its latch was written back: that ack did not take
					// effect (the caller gave up after its commit, or a
					// condition came back), and the pod is latched on it.
					continue
				}
				p.mu.Lock()
				if p.lastAck == nil {
					p.lastAck = &l
				}
				p.mu.Unlock()
				return
			}
		}
		if from <= stop {
			return
		}
		end = from - 1
	}
}

// decodeAckEntry reads an audit entry that records an acknowledgement; an
// entry of another type, or one that does not decode, is not one. An entry
// written before acknowledgements named their source (by "local" alone)
// was the local API's.
func decodeAckEntry(raw []byte) (LastAck, bool) {
	var e struct {
		TS     string `json:"ts"`
		Type   string `json:"type"`
		Fields struct {
			Rule       string  `json:"rule"`
			DetectedAt string  `json:"detected_at"`
			Source     string  `json:"source"`
			UID        *uint32 `json:"uid"`
			PID        *int32  `json:"pid"`
			User       string  `json:"user"`
			Note       string  `json:"note"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(raw, &e); err != nil || e.Type != "ack" {
		return LastAck{}, false
	}
	at, err1 := time.Parse(time.RFC3339Nano, e.TS)
	detected, err2 := time.Parse(time.RFC3339Nano, e.Fields.DetectedAt)
	if err1 != nil || err2 != nil || e.Fields.Rule == "" {
		return LastAck{}, false
	}
	f := e.Fields
	if f.Source == "" {
		f.Source = AckByAPI
	}
	return LastAck{Rule: f.Rule, DetectedAt: detected, At: at, AckSource: AckSource{Kind: f.Source, UID: f.UID, PID: f.PID, User: f.User, Note: f.Note}}, true
}
