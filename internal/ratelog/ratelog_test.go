package ratelog

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// output is a text handler writing to a buffer without times, so that tests
// compare whole lines.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

// lines returns the lines written since the previous call.
func (o *output) lines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := strings.TrimSuffix(o.buf.String(), "\n")
	o.buf.Reset()
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func newTest(opts Options) (*Handler, *slog.Logger, *output) {
	out := new(output)
	text := slog.NewTextHandler(out, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	})
	h := New(text, opts)
	return h, slog.New(h), out
}

func equalLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func checkDropped(t *testing.T, h *Handler, want uint64) {
	t.Helper()
	if got := h.Dropped(); got != want {
		t.Errorf("Dropped() = %d, want %d", got, want)
	}
}

func TestBurstIsWrittenThenCut(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		lines int
		want  []string
	}{
		{
			name:  "burst of 3",
			opts:  Options{Burst: 3},
			lines: 5,
			want: []string{
				"level=WARN msg=fault n=1",
				"level=WARN msg=fault n=2",
				"level=WARN msg=fault n=3 ratelimited=true",
			},
		},
		{
			name:  "burst of 1",
			opts:  Options{Burst: 1},
			lines: 3,
			want:  []string{"level=WARN msg=fault n=1 ratelimited=true"},
		},
		{
			name:  "default burst of 10",
			opts:  Options{},
			lines: 12,
			want: []string{
				"level=WARN msg=fault n=1",
				"level=WARN msg=fault n=2",
				"level=WARN msg=fault n=3",
				"level=WARN msg=fault n=4",
				"level=WARN msg=fault n=5",
				"level=WARN msg=fault n=6",
				"level=WARN msg=fault n=7",
				"level=WARN msg=fault n=8",
				"level=WARN msg=fault n=9",
				"level=WARN msg=fault n=10 ratelimited=true",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h, log, out := newTest(tt.opts)
				for i := 1; i <= tt.lines; i++ {
					log.Warn("fault", "n", i)
				}
				equalLines(t, out.lines(), tt.want)
				checkDropped(t, h, uint64(tt.lines-len(tt.want)))
			})
		})
	}
}

func TestRefillWritesOneLinePerInterval(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration
		want  []string
	}{
		{"just under one interval", 6*time.Second - time.Nanosecond, nil},
		{"one interval", 6 * time.Second, []string{
			"level=WARN msg=fault n=1 suppressed=5",
		}},
		{"three intervals", 18 * time.Second, []string{
			"level=WARN msg=fault n=1 suppressed=5",
			"level=WARN msg=fault n=2",
			"level=WARN msg=fault n=3 ratelimited=true",
		}},
		{"nine and a half intervals", 57 * time.Second, []string{
			"level=WARN msg=fault n=1 suppressed=5",
			"level=WARN msg=fault n=2",
			"level=WARN msg=fault n=3",
			"level=WARN msg=fault n=4",
			"level=WARN msg=fault n=5",
			"level=WARN msg=fault n=6",
			"level=WARN msg=fault n=7",
			"level=WARN msg=fault n=8",
			"level=WARN msg=fault n=9 ratelimited=true",
		}},
		{"an hour refills only the burst", time.Hour, []string{
			"level=WARN msg=fault n=1 suppressed=5",
			"level=WARN msg=fault n=2",
			"level=WARN msg=fault n=3",
			"level=WARN msg=fault n=4",
			"level=WARN msg=fault n=5",
			"level=WARN msg=fault n=6",
			"level=WARN msg=fault n=7",
			"level=WARN msg=fault n=8",
			"level=WARN msg=fault n=9",
			"level=WARN msg=fault n=10 ratelimited=true",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h, log, out := newTest(Options{})
				for range DefaultBurst + 5 {
					log.Warn("fault", "n", 0)
				}
				out.lines()
				time.Sleep(tt.after)
				const tries = 20
				for i := 1; i <= tries; i++ {
					log.Warn("fault", "n", i)
				}
				equalLines(t, out.lines(), tt.want)
				checkDropped(t, h, uint64(5+tries-len(tt.want)))
			})
		})
	}
}

func TestRefillKeepsThePartOfAnIntervalWaited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, log, out := newTest(Options{Burst: 2, Interval: 10 * time.Second})
		log.Info("fault", "n", 1)
		log.Info("fault", "n", 2)
		time.Sleep(15 * time.Second)
		log.Info("fault", "n", 3)
		log.Info("fault", "n", 4)
		time.Sleep(5 * time.Second) // 20 s since the budget was spent: two lines earned
		log.Info("fault", "n", 5)
		equalLines(t, out.lines(), []string{
			"level=INFO msg=fault n=1",
			"level=INFO msg=fault n=2 ratelimited=true",
			"level=INFO msg=fault n=3 ratelimited=true",
			"level=INFO msg=fault n=5 suppressed=1",
		})
	})
}

func TestFullBudgetEarnsNothingMore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, log, out := newTest(Options{Burst: 1, Interval: 10 * time.Second})
		log.Info("fault", "n", 1)
		time.Sleep(15 * time.Second) // full again after 10 s, and it stays full
		log.Info("fault", "n", 2)
		time.Sleep(5 * time.Second)
		log.Info("fault", "n", 3)
		time.Sleep(5 * time.Second)
		log.Info("fault", "n", 4)
		equalLines(t, out.lines(), []string{
			"level=INFO msg=fault n=1 ratelimited=true",
			"level=INFO msg=fault n=2 ratelimited=true",
			"level=INFO msg=fault n=4 suppressed=1",
		})
	})
}

func TestSuppressedCountIsExactAndStartsAgain(t *testing.T) {
	for _, withheld := range []int{1, 7, 1000} {
		t.Run(fmt.Sprint(withheld), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h, log, out := newTest(Options{Burst: 1, Interval: time.Second})
				log.Info("fault")
				for range withheld {
					log.Info("fault")
				}
				time.Sleep(time.Second)
				log.Info("fault")
				log.Info("fault")
				time.Sleep(time.Second)
				log.Info("fault")
				equalLines(t, out.lines(), []string{
					"level=INFO msg=fault ratelimited=true",
					fmt.Sprintf("level=INFO msg=fault suppressed=%d", withheld),
					"level=INFO msg=fault suppressed=1",
				})
				checkDropped(t, h, uint64(withheld+1))
			})
		})
	}
}

func TestMessagesHaveIndependentBudgets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, log, out := newTest(Options{Burst: 2})
		for i := 1; i <= 3; i++ {
			log.Warn("sensor fault", "n", i)
			log.Warn("oximeter FIFO overflow", "n", i)
		}
		log.Info("sensor recovered")
		equalLines(t, out.lines(), []string{
			`level=WARN msg="sensor fault" n=1`,
			`level=WARN msg="oximeter FIFO overflow" n=1`,
			`level=WARN msg="sensor fault" n=2 ratelimited=true`,
			`level=WARN msg="oximeter FIFO overflow" n=2 ratelimited=true`,
			`level=INFO msg="sensor recovered"`,
		})
		checkDropped(t, h, 2)
	})
}

func TestGlobalBudgetCapsAllMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, log, out := newTest(Options{GlobalBurst: 3, GlobalInterval: time.Second})
		for i := 1; i <= 5; i++ {
			log.Info(fmt.Sprintf("m%d", i))
		}
		equalLines(t, out.lines(), []string{
			"level=INFO msg=m1",
			"level=INFO msg=m2",
			"level=INFO msg=m3",
		})
		checkDropped(t, h, 2)

		time.Sleep(time.Second)
		log.Info("m6")
		log.Info("m7")
		time.Sleep(time.Second)
		log.Info("m8")
		equalLines(t, out.lines(), []string{
			"level=INFO msg=m6 suppressed_global=2",
			"level=INFO msg=m8 suppressed_global=1",
		})
		checkDropped(t, h, 3)
	})
}

func TestGlobalCutDoesNotSpendTheMessageBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, log, out := newTest(Options{Burst: 2, Interval: time.Hour, GlobalBurst: 1, GlobalInterval: time.Second})
		log.Info("x")
		for range 3 {
			log.Info("y")
		}
		time.Sleep(time.Second)
		log.Info("y")
		time.Sleep(time.Second)
		log.Info("y")
		equalLines(t, out.lines(), []string{
			"level=INFO msg=x",
			"level=INFO msg=y suppressed_global=3",
			"level=INFO msg=y ratelimited=true",
		})
	})
}

func TestErrorsHaveTheirOwnBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, log, out := newTest(Options{Burst: 2, ErrorBurst: 3})
		for i := 1; i <= 4; i++ {
			log.Warn("store failing", "n", i)
			log.Error("store failing", "n", i)
		}
		equalLines(t, out.lines(), []string{
			`level=WARN msg="store failing" n=1`,
			`level=ERROR msg="store failing" n=1`,
			`level=WARN msg="store failing" n=2 ratelimited=true`,
			`level=ERROR msg="store failing" n=2`,
			`level=ERROR msg="store failing" n=3 ratelimited=true`,
		})
		checkDropped(t, h, 3)
	})
}

func TestErrorsUseTheGlobalReserve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, log, out := newTest(Options{GlobalBurst: 2, GlobalReserve: 2, GlobalInterval: time.Minute})
		log.Info("a")
		log.Info("b")
		log.Info("c")   // global budget spent
		log.Error("e1") // reserve
		log.Error("e2") // reserve
		log.Error("e3") // reserve spent
		log.Info("d")   // ordinary lines wait for the reserve to be earned back
		time.Sleep(2 * time.Minute)
		log.Info("f") // the budget is back at zero, not yet above
		time.Sleep(time.Minute)
		log.Info("g")
		equalLines(t, out.lines(), []string{
			"level=INFO msg=a",
			"level=INFO msg=b",
			"level=ERROR msg=e1 suppressed_global=1",
			"level=ERROR msg=e2",
			"level=INFO msg=g suppressed_global=3",
		})
		checkDropped(t, h, 4)
	})
}

func TestCountReportUsesTheGlobalReserve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, log, out := newTest(Options{Burst: 1, Interval: time.Second, GlobalBurst: 2, GlobalReserve: 1, GlobalInterval: time.Hour})
		log.Info("a")
		log.Info("a") // its message's budget is spent
		log.Info("b")
		log.Info("c") // the global budget is spent
		time.Sleep(time.Second)
		log.Info("a") // carries a count: the reserve
		log.Info("d")
		equalLines(t, out.lines(), []string{
			"level=INFO msg=a ratelimited=true",
			"level=INFO msg=b ratelimited=true",
			"level=INFO msg=a suppressed=1 suppressed_global=1",
		})
		checkDropped(t, h, 3)
	})
}

func TestCountsCarryOverPastTheReserve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, log, out := newTest(Options{Burst: 1, Interval: time.Second, GlobalBurst: 1, GlobalReserve: 1, GlobalInterval: time.Hour})
		log.Info("a")
		log.Info("a")  // its message's budget is spent
		log.Error("e") // the reserve is spent
		time.Sleep(time.Second)
		log.Info("a") // its budget allows it, the global one does not
		time.Sleep(time.Hour)
		log.Info("a")
		equalLines(t, out.lines(), []string{
			"level=INFO msg=a ratelimited=true",
			"level=ERROR msg=e",
			"level=INFO msg=a suppressed=1 suppressed_global=1",
		})
		checkDropped(t, h, 2)
	})
}

func TestChildrenShareTheBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, root, out := newTest(Options{Burst: 2, Interval: time.Second})
		attrs := root.With("component", "uplink")
		grouped := root.With("pre", "x").WithGroup("g").With("k", "v")

		root.Info("m", "n", 1)
		grouped.Info("m", "n", 2)
		attrs.Info("m", "n", 3)
		root.Info("m", "n", 4)
		time.Sleep(time.Second)
		attrs.Info("m", "n", 5)
		grouped.Info("m", "n", 6)
		time.Sleep(time.Second)
		grouped.Info("m", "n", 7)
		equalLines(t, out.lines(), []string{
			"level=INFO msg=m n=1",
			"level=INFO msg=m pre=x ratelimited=true g.k=v g.n=2",
			"level=INFO msg=m component=uplink n=5 suppressed=2",
			"level=INFO msg=m pre=x suppressed=1 g.k=v g.n=7",
		})
		for _, l := range []*slog.Logger{attrs, grouped} {
			if got := l.Handler().(*Handler).Dropped(); got != 3 {
				t.Errorf("child's Dropped() = %d, want 3", got)
			}
		}
		checkDropped(t, h, 3)
	})
}

func TestEmptyWithAttrsAndWithGroupReturnTheHandler(t *testing.T) {
	h, _, _ := newTest(Options{})
	if h.WithAttrs(nil) != slog.Handler(h) || h.WithGroup("") != slog.Handler(h) {
		t.Error("WithAttrs(nil) or WithGroup(\"\") made a new handler")
	}
}

func TestDisabledLevelsSpendNoBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := new(output)
		h := New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelWarn}), Options{Burst: 1})
		log := slog.New(h)
		for range 5 {
			log.Info("fault")
		}
		log.Warn("fault")
		if got := len(out.lines()); got != 1 {
			t.Errorf("%d lines written, want 1", got)
		}
		checkDropped(t, h, 0)
	})
}

func TestConcurrentUseKeepsExactCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			writers = 8
			each    = 200
			burst   = 50
		)
		h, root, out := newTest(Options{Burst: burst, ErrorBurst: burst, GlobalBurst: 1000})
		var wg sync.WaitGroup
		for w := range writers {
			log := root.With("writer", w)
			if w%2 == 1 {
				log = root.WithGroup("g").With("writer", w)
			}
			wg.Go(func() {
				for i := range each {
					log.Warn("fault", "n", i)
					log.Error("fault", "n", i)
					_ = h.Dropped()
				}
			})
		}
		wg.Wait()
		lines := out.lines()
		var warns, errs, limited int
		for _, l := range lines {
			switch {
			case strings.HasPrefix(l, "level=WARN msg=fault "):
				warns++
			case strings.HasPrefix(l, "level=ERROR msg=fault "):
				errs++
			default:
				t.Errorf("unexpected line %q", l)
			}
			if strings.Contains(l, " ratelimited=true") {
				limited++
			}
		}
		if warns != burst || errs != burst || limited != 2 {
			t.Errorf("%d warnings, %d errors, %d marked, want %d, %d, 2", warns, errs, limited, burst, burst)
		}
		checkDropped(t, h, 2*(writers*each-burst))

		time.Sleep(DefaultInterval)
		root.Warn("fault")
		equalLines(t, out.lines(), []string{fmt.Sprintf("level=WARN msg=fault suppressed=%d", writers*each-burst)})
	})
}

// checkList checks that the recency list holds exactly the tracked messages,
// and returns them from the newest.
func checkList(t *testing.T, l *limiter) []string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var msgs []string
	var prev *entry
	for e := l.newest; e != nil; e = e.older {
		if e.newer != prev || l.keys[e.key] != e {
			t.Fatalf("recency list broken at %q", e.key.msg)
		}
		msgs = append(msgs, e.key.msg)
		prev = e
	}
	if prev != l.oldest || len(msgs) != len(l.keys) {
		t.Fatalf("recency list holds %d messages, the map %d", len(msgs), len(l.keys))
	}
	return msgs
}

func TestEvictionForgetsTheLeastRecentlySeen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, log, out := newTest(Options{Burst: 1, Interval: time.Hour, MaxKeys: 3})
		log.Info("a")
		log.Info("a") // withheld, counted on a
		log.Info("b")
		log.Info("c")
		log.Info("a") // withheld; a is now the most recently seen
		log.Info("d") // forgets b
		log.Info("a") // still withheld: a kept its spent budget
		log.Info("b") // forgets c; b is new again, with a full budget
		log.Info("d") // withheld
		log.Info("e") // forgets a, whose count of 3 moves to the global one
		equalLines(t, out.lines(), []string{
			"level=INFO msg=a ratelimited=true",
			"level=INFO msg=b ratelimited=true",
			"level=INFO msg=c ratelimited=true",
			"level=INFO msg=d ratelimited=true",
			"level=INFO msg=b ratelimited=true",
			"level=INFO msg=e suppressed_global=3 ratelimited=true",
		})
		equalLines(t, checkList(t, h.lim), []string{"e", "d", "b"})
		checkDropped(t, h, 4)
	})
}

func TestTrackedMessagesStayBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, log, _ := newTest(Options{MaxKeys: 64, GlobalBurst: 1 << 20})
		for i := range 10_000 {
			log.Info(fmt.Sprintf("message %d", i%500))
			if i%997 == 0 {
				checkList(t, h.lim)
			}
		}
		if got := len(checkList(t, h.lim)); got != 64 {
			t.Errorf("%d messages tracked, want 64", got)
		}
	})
}

func TestZeroOptionsTakeTheDefaults(t *testing.T) {
	want := Options{
		Burst: DefaultBurst, Interval: DefaultInterval,
		ErrorBurst: DefaultErrorBurst, ErrorInterval: DefaultErrorInterval,
		GlobalBurst: DefaultGlobalBurst, GlobalInterval: DefaultGlobalInterval, GlobalReserve: DefaultGlobalReserve,
		MaxKeys: DefaultMaxKeys,
	}
	negative := Options{-1, -1, -1, -1, -1, -1, -1, -1}
	for _, o := range []Options{{}, negative} {
		if got := o.withDefaults(); got != want {
			t.Errorf("%+v.withDefaults() = %+v, want %+v", o, got, want)
		}
	}
	kept := Options{1, 2, 3, 4, 5, 6, 7, 8}
	if got := kept.withDefaults(); got != kept {
		t.Errorf("%+v.withDefaults() = %+v", kept, got)
	}
}

// counter counts the lines written to it.
type counter struct{ n int }

func (c *counter) Write(p []byte) (int, error) {
	c.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

func TestHandleDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	var c counter
	h := New(slog.NewTextHandler(&c, nil), Options{Burst: 1 << 30, GlobalBurst: 1 << 30})
	r := slog.NewRecord(time.Now(), slog.LevelWarn, "oximeter FIFO overflow", 0)
	r.AddAttrs(slog.Int("lost", 3))
	ctx := context.Background()
	_ = h.Handle(ctx, r) // tracks the message

	if a := testing.AllocsPerRun(100, func() { _ = h.Handle(ctx, r) }); a != 0 {
		t.Errorf("a written line allocates %v times", a)
	}
	if c.n != 102 || h.Dropped() != 0 {
		t.Fatalf("%d lines written, %d dropped: the lines were not all written", c.n, h.Dropped())
	}

	cut := New(slog.NewTextHandler(&c, nil), Options{Burst: 1, Interval: time.Hour})
	_ = cut.Handle(ctx, r)
	if a := testing.AllocsPerRun(100, func() { _ = cut.Handle(ctx, r) }); a != 0 {
		t.Errorf("a withheld line allocates %v times", a)
	}
	if cut.Dropped() != 101 {
		t.Fatalf("%d lines dropped: the lines were not all withheld", cut.Dropped())
	}
}
