package ratelog

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkHandle measures one record through the bare text handler and
// through the limiter in front of it, both writing to io.Discard: "written"
// is the cost the limiter adds to every line, "withheld" the cost of a line
// it cuts. Handle is called directly so that slog.Logger's own work (the
// caller's PC, the record) is left out of both.
func BenchmarkHandle(b *testing.B) {
	ctx := context.Background()
	newRecord := func() slog.Record {
		r := slog.NewRecord(time.Now(), slog.LevelWarn, "oximeter FIFO overflow", 0)
		r.AddAttrs(slog.Int("lost", 3), slog.String("device", "max30102"))
		return r
	}
	b.Run("bare", func(b *testing.B) {
		h := slog.NewTextHandler(io.Discard, nil)
		r := newRecord()
		b.ReportAllocs()
		for b.Loop() {
			if err := h.Handle(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("written", func(b *testing.B) {
		h := New(slog.NewTextHandler(io.Discard, nil), Options{Burst: 1 << 30, GlobalBurst: 1 << 30})
		r := newRecord()
		b.ReportAllocs()
		for b.Loop() {
			if err := h.Handle(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		if d := h.Dropped(); d != 0 {
			b.Fatalf("%d lines withheld: not the written path", d)
		}
	})
	b.Run("withheld", func(b *testing.B) {
		h := New(slog.NewTextHandler(io.Discard, nil), Options{Burst: 1, Interval: time.Hour})
		r := newRecord()
		_ = h.Handle(ctx, r) // spends the budget
		b.ReportAllocs()
		for b.Loop() {
			if err := h.Handle(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		if h.Dropped() == 0 {
			b.Fatal("no line withheld: not the withheld path")
		}
	})
}
