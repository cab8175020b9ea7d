package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sleegation/podd/journal"
)

// GET /v1/audit: the report with intact beside it; a broken chain is a
// reply, not an error; a store that is not open is a 503 with its reason.
func TestAuditReplies(t *testing.T) {
	broken := AuditReport{Entries: 57, First: 1, Last: 57, Anchor: strings.Repeat("0", 64), LastHash: "ab",
		Broken: &journal.AuditBreak{N: 12, Reason: journal.AuditBreakPrevMismatch, Detail: "prev hash does not match entry 11"}}
	pod := &fakePod{audit: broken}
	c, _ := serve(t, pod)
	r, err := c.Audit(context.Background())
	if err != nil || r.Intact || r.Broken == nil || *r.Broken != *broken.Broken || r.Entries != 57 || r.Last != 57 {
		t.Fatalf("Audit = %+v, %v", r, err)
	}
	// The wire format, exactly.
	hc := &http.Client{Transport: c.http.Transport}
	resp, err := hc.Get("http://podd/v1/audit")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `{"intact":false,"entries":57,"first":1,"last":57,"pruned":0,"anchor":"` + strings.Repeat("0", 64) + `","last_hash":"ab","broken":{"n":12,"reason":"prev_mismatch","detail":"prev hash does not match entry 11"}}` + "\n"
	if resp.StatusCode != http.StatusOK || string(b) != want {
		t.Fatalf("GET /v1/audit = %d %s\nwant 200 %s", resp.StatusCode, b, want)
	}

	pod.mu.Lock()
	pod.audit, pod.auditErr = AuditReport{}, errors.New("journal.VerifyAudit: journal not open")
	pod.mu.Unlock()
	if _, err := c.Audit(context.Background()); err == nil || err.Error() != "api: audit: 503: journal.VerifyAudit: journal not open" {
		t.Fatalf("Audit with the store not open = %v", err)
	}
}
