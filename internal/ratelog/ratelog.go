package ratelog

import (
	"context"
	"log/slog"
	"slices"
	"time"
)

// Defaults for Options. Sized for a pod logging to an SD card all night: at
// about 150 bytes a line, the global budget bounds the worst case to about
// 1 MB an hour, and a single repeating fault to about 90 kB an hour.
const (
	// DefaultBurst (lines) is a message's budget below LevelError: enough to
	// see a fault's first occurrences with their varying attrs.
	DefaultBurst = 10
	// DefaultInterval (per line) refills it at 10 lines a minute, so the
	// card still shows when a repeating fault stopped, to within 6 s.
	DefaultInterval = 6 * time.Second
	// DefaultErrorBurst (lines) is a message's budget at LevelError and above.
	DefaultErrorBurst = 30
	// DefaultErrorInterval (per line) refills it at 30 lines a minute.
	DefaultErrorInterval = 2 * time.Second
	// DefaultGlobalBurst (lines) is the budget of all messages together: a
	// start-up writes about 20 lines, a fault storm several faults at once.
	DefaultGlobalBurst = 120
	// DefaultGlobalInterval (per line) refills it at 120 lines a minute.
	DefaultGlobalInterval = 500 * time.Millisecond
	// DefaultGlobalReserve (lines) is the overdraft of the global budget kept
	// for errors and lines that report a count: one full error burst.
	DefaultGlobalReserve = DefaultErrorBurst
	// DefaultMaxKeys (messages) bounds the messages tracked at once.
	DefaultMaxKeys = 1024
)

// Attr keys added to written lines; see the package documentation.
const (
	SuppressedKey       = "suppressed"        // uint64: lines of this message withheld
	GlobalSuppressedKey = "suppressed_global" // uint64: lines withheld by the global budget
	LimitedKey          = "ratelimited"       // bool: this message's budget is now spent
)

// Options sets the budgets. A field that is zero or negative takes its
// default, so the zero Options gives every default.
type Options struct {
	// Burst is how many lines one message below LevelError may write back to
	// back, in lines.
	Burst int
	// Interval is how long such a message takes to earn back one line.
	Interval time.Duration

	// ErrorBurst is how many lines one message at LevelError or above may
	// write back to back, in lines.
	ErrorBurst int
	// ErrorInterval is how long such a message takes to earn back one line.
	ErrorInterval time.Duration

	// GlobalBurst is how many lines all messages together may write back to
	// back, in lines.
	GlobalBurst int
	// GlobalInterval is how long all messages together take to earn back one
	// line.
	GlobalInterval time.Duration
	// GlobalReserve is how many lines past an empty global budget errors and
	// lines reporting a per-message count may still write, in lines.
	GlobalReserve int

	// MaxKeys is how many distinct messages are tracked at once; the least
	// recently seen is forgotten to make room.
	MaxKeys int
}

func (o Options) withDefaults() Options {
	positive := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	positiveDuration := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	positive(&o.Burst, DefaultBurst)
	positiveDuration(&o.Interval, DefaultInterval)
	positive(&o.ErrorBurst, DefaultErrorBurst)
	positiveDuration(&o.ErrorInterval, DefaultErrorInterval)
	positive(&o.GlobalBurst, DefaultGlobalBurst)
	positiveDuration(&o.GlobalInterval, DefaultGlobalInterval)
	positive(&o.GlobalReserve, DefaultGlobalReserve)
	positive(&o.MaxKeys, DefaultMaxKeys)
	return o
}

// Handler is a slog.Handler that writes a record to the handler it wraps
// only while the record's budgets allow it. It is safe for concurrent use.
type Handler struct {
	next slog.Handler
	lim  *limiter

	// root and ops rebuild next with a report placed before the first group,
	// because attrs added to a record are qualified by the logger's groups.
	root    slog.Handler
	ops     []op
	grouped bool
}

// op is one WithAttrs or WithGroup call, in order.
type op struct {
	group string // empty for WithAttrs
	attrs []slog.Attr
}

// New returns a Handler that writes to next what the budgets in opts allow.
func New(next slog.Handler, opts Options) *Handler {
	return &Handler{next: next, root: next, lim: newLimiter(opts.withDefaults(), time.Now())}
}

// Dropped is how many lines this handler and its children have withheld
// since New.
func (h *Handler) Dropped() uint64 { return h.lim.dropped.Load() }

// Enabled reports whether the wrapped handler handles records at level; a
// record it would not handle spends no budget.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle writes r to the wrapped handler if its budgets allow, with any
// pending counts; otherwise it counts r and returns nil.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	rep, ok := h.lim.admit(time.Now(), r.Message, r.Level >= slog.LevelError)
	if !ok {
		return nil
	}
	if rep == (report{}) {
		return h.next.Handle(ctx, r)
	}
	attrs := rep.attrs()
	if !h.grouped {
		r = r.Clone() // the caller's record may share its attr storage with ours
		r.AddAttrs(attrs...)
		return h.next.Handle(ctx, r)
	}
	next := h.root
	placed := false
	for _, o := range h.ops {
		if o.group == "" {
			next = next.WithAttrs(o.attrs)
			continue
		}
		if !placed {
			next, placed = next.WithAttrs(attrs), true
		}
		next = next.WithGroup(o.group)
	}
	return next.Handle(ctx, r)
}

// WithAttrs returns a Handler with the same budgets whose lines carry attrs.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	c := *h
	c.next = h.next.WithAttrs(attrs)
	c.ops = append(slices.Clip(h.ops), op{attrs: attrs})
	return &c
}

// WithGroup returns a Handler with the same budgets whose record attrs are
// qualified by name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next = h.next.WithGroup(name)
	c.ops = append(slices.Clip(h.ops), op{group: name})
	c.grouped = true
	return &c
}

// report is what a written line says about withheld lines.
type report struct {
	message uint64 // lines of its message withheld by the message's budget
	global  uint64 // lines withheld by the global budget, or forgotten
	limited bool   // the line spent its message's last line
}

func (r report) attrs() []slog.Attr {
	a := make([]slog.Attr, 0, 3)
	if r.message > 0 {
		a = append(a, slog.Uint64(SuppressedKey, r.message))
	}
	if r.global > 0 {
		a = append(a, slog.Uint64(GlobalSuppressedKey, r.global))
	}
	if r.limited {
		a = append(a, slog.Bool(LimitedKey, true))
	}
	return a
}
