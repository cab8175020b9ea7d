package main

import (
	"testing"
	"time"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/journal"
)

// history.retention accepts 1h..2160h (90 days; configs/doc.go), and the
// pod adds a vitals point every 10 s (controller.DefaultHistoryWindow,
// podd sets no other), idle or not, from its telemetry.
//
// Wrong: storeOptions (cmd/podd/main.go) passes only HistoryRetention, so
// the journal keeps its DefaultMaxHistoryVitals, 14 days of points
// (14 * 8640): a retention of 30, 60 or 90 days is accepted by podd and
// config check, yet every point older than 14 days is pruned by the
// count bound. The technician who configured 90 days finds no report
// for a night three weeks ago, and nothing says why.
//
// Correct: the vitals bound follows the retention (MaxHistoryVitals at
// least retention / the history window, with a margin), or the
// configuration refuses a retention the bounds cannot keep.
func TestReviewHistoryRetentionIsKeptByTheVitalsBound(t *testing.T) {
	for _, days := range []int{30, 90} {
		retention := time.Duration(days) * 24 * time.Hour
		o := storeOptions(configs.StorageConfig{Path: "/x.db", MaxOutboxRecords: 5000, MaxOutboxBytes: 64 << 20, MaxAuditEntries: 700},
			configs.HistoryConfig{Retention: retention})
		n := o.MaxHistoryVitals
		if n == 0 {
			n = journal.DefaultMaxHistoryVitals
		}
		if kept := time.Duration(n) * controller.DefaultHistoryWindow; kept < retention {
			t.Errorf("history.retention %v: the vitals bound keeps %d points, %v of them (%.0f days)", retention, n, kept, kept.Hours()/24)
		}
	}
}
