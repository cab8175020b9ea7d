package controller

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// logQueue is how many log records may wait for the log's writer. Past it
// (stderr not read: journald stalled on the same dying SD card) records are
// dropped and counted, never waited for: safety never waits on the log.
const logQueue = 256

// logFlush bounds the wait for the queued records when Run stops.
const logFlush = 200 * time.Millisecond

// asyncLog hands log records to a writer goroutine that Run owns, so no
// goroutine of the pod, the safety core above all, can block in a write.
type asyncLog struct {
	ch      chan logRecord
	dropped atomic.Uint64
}

type logRecord struct {
	h slog.Handler
	r slog.Record
}

func newAsyncLog() *asyncLog { return &asyncLog{ch: make(chan logRecord, logQueue)} }

// handler wraps next so its records go through the queue.
func (q *asyncLog) handler(next slog.Handler) slog.Handler {
	return asyncHandler{q: q, next: next}
}

// run writes queued records until stop is closed, then what is queued
// still, at most until logFlush has passed.
func (q *asyncLog) run(stop <-chan struct{}) {
	for {
		select {
		case rec := <-q.ch:
			q.write(rec)
		case <-stop:
			deadline := time.Now().Add(logFlush)
			for time.Now().Before(deadline) {
				select {
				case rec := <-q.ch:
					q.write(rec)
				default:
					return
				}
			}
			return
		}
	}
}

func (q *asyncLog) write(rec logRecord) {
	if n := q.dropped.Swap(0); n > 0 {
		rec.r.AddAttrs(slog.Uint64("log_dropped", n))
	}
	_ = rec.h.Handle(context.Background(), rec.r)
}

type asyncHandler struct {
	q    *asyncLog
	next slog.Handler
}

func (h asyncHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h asyncHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.q.ch <- logRecord{h: h.next, r: r.Clone()}:
	default:
		h.q.dropped.Add(1)
	}
	return nil
}

func (h asyncHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return asyncHandler{q: h.q, next: h.next.WithAttrs(attrs)}
}

func (h asyncHandler) WithGroup(name string) slog.Handler {
	return asyncHandler{q: h.q, next: h.next.WithGroup(name)}
}
