package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sleegation/podd/journal"
)

// AuditReport is what the pod's audit log check found (journal.AuditReport).
type AuditReport = journal.AuditReport

// AuditReply is the reply of GET /v1/audit: intact, and the report (its
// fields flat beside it: entries, first, last, pruned, anchor, last_hash,
// broken), or error when the check could not run (the store not open:
// 503).
type AuditReply struct {
	Intact bool `json:"intact"`
	AuditReport
	Error string `json:"error,omitempty"`
}

// Audit asks the pod to check its audit log. A pod that cannot (its store
// not open) is an error with its reason; a broken chain is not an error:
// the reply says so (Intact false, Broken).
func (c *Client) Audit(ctx context.Context) (AuditReply, error) {
	var r AuditReply
	code, err := c.do(ctx, http.MethodGet, "/v1/audit", &r)
	if err != nil {
		return r, err
	}
	if code != http.StatusOK {
		return r, fmt.Errorf("api: audit: %d: %s", code, r.Error)
	}
	return r, nil
}

func (s *Server) audit(w http.ResponseWriter, _ *http.Request) {
	r, err := s.pod.Audit()
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, AuditReply{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, AuditReply{Intact: r.Intact(), AuditReport: r})
}
