package journal

import (
	"path/filepath"
	"testing"
)

// AuditExtent reads the numbers of the audit log's first and last entries
// from the ends of its bucket, as VerifyAudit reports them after its walk:
// 0, 0 for an empty log, and the same extent on a log that has entries.
func TestAuditExtentIsVerifyAuditsExtent(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "podd.db"), nil)
	if first, last, err := s.AuditExtent(); err != nil || first != 0 || last != 0 {
		t.Fatalf("empty log: AuditExtent = %d, %d, %v; want 0, 0, nil", first, last, err)
	}
	for range 5 {
		appendAudited(t, s, "command", `{}`)
	}
	first, last, err := s.AuditExtent()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.VerifyAudit()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entries != 5 || first != rep.First || last != rep.Last || last-first != 4 {
		t.Fatalf("AuditExtent = %d, %d; VerifyAudit reports %+v; want its first and last of 5 entries", first, last, rep)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AuditExtent(); err == nil {
		t.Fatal("AuditExtent on a closed store: nil error, want the store's")
	}
}
