package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/journal"
)

// The outbox's bounds and the history's retention reach the journal as configured, and the shipped
// configuration's are ones the journal accepts.
func TestStoreOptionsCarryTheOutboxBounds(t *testing.T) {
	o := storeOptions(configs.StorageConfig{Path: "/x.db", MaxOutboxRecords: 5000, MaxOutboxBytes: 64 << 20, MaxAuditEntries: 700}, configs.HistoryConfig{Retention: 72 * time.Hour})
	if o.MaxOutbox != 5000 || o.MaxOutboxBytes != 64<<20 || o.MaxAuditEntries != 700 || o.HistoryRetention != 72*time.Hour {
		t.Fatalf("options %+v; want 5000 records, 64 MiB, 700 audit entries, 72h of history", *o)
	}
	c, err := configs.Load("../../configs/pod.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := journal.Open(filepath.Join(t.TempDir(), "podd.db"), storeOptions(c.Storage, c.History))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
