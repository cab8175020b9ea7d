package uplink

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sleegation/podd/journal"
)

// How big the store grows in a night without a broker, and how it shrinks:
// 12 h of 1 Hz telemetry as the pod makes it (both vitals valid), stored
// through Telemetry with the journal's defaults, then delivered (deleted
// as acknowledgements would) and the store opened again. It prints the
// sizes (go test -run TwelveHour -v ./uplink/); the bounds it checks are
// loose, the layout being bbolt's.
func TestTwelveHourOutageFileSize(t *testing.T) {
	if testing.Short() {
		t.Skip("43200 records")
	}
	path := filepath.Join(t.TempDir(), "podd.db")
	store, err := journal.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := newTestUplink(t, store, func(c *Config) { c.Pod = "pod-0001"; c.Boot = "0123456789abcdef" })
	hr, spo2 := 58.5, 97.0
	tel := Telemetry{State: "monitoring", Safety: "ok", Vitals: Vitals{HeartRateBPM: &hr, SpO2Pct: &spo2}}
	start := time.Date(2026, 11, 29, 22, 0, 0, 0, time.UTC)
	const records = 12 * 60 * 60
	for i := range records {
		if _, err := u.Telemetry(tel, start.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Commit(); err != nil {
		t.Fatal(err)
	}
	if n, _ := store.OutboxLen(); n != records {
		t.Fatalf("outbox %d records after the outage, want %d: something was dropped", n, records)
	}
	full := size(t, path)
	for {
		recs, err := store.Pending(0, 256)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		seqs := make([]uint64, len(recs))
		for i, r := range recs {
			seqs[i] = r.Seq
		}
		if err := store.Delete(seqs...); err != nil {
			t.Fatal(err)
		}
		if err := store.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	drained := size(t, path)
	store, err = journal.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	reopened := size(t, path)
	t.Logf("12 h at 1 Hz, %d records: file %d bytes (%.1f MiB) with the backlog, %d (%.1f MiB) once delivered, %d (%.2f MiB) after the next Open",
		records, full, mib(full), drained, mib(drained), reopened, mib(reopened))
	if full > 64<<20 || reopened > 1<<20 {
		t.Fatalf("file %d bytes with the backlog (want under 64 MiB), %d after the next Open (want under 1 MiB)", full, reopened)
	}
}

func size(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
