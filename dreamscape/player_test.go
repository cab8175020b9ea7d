package dreamscape

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/sleegation/podd/actuators/light"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ms(n ...int) []time.Duration {
	d := make([]time.Duration, len(n))
	for i, v := range n {
		d[i] = time.Duration(v) * time.Millisecond
	}
	return d
}

// recorder is a Sink that records each frame's time, the clock's time
// since start when it was called, and the frame, and then takes cost(i)
// of the fake clock and returns fail(i) for the i-th call.
type recorder struct {
	start   time.Time
	nows    []time.Duration
	calls   []time.Duration
	lights  [][]light.RGB
	haptics [][]float64
	cost    func(i int) time.Duration
	fail    func(i int) error
}

func (r *recorder) sink(now time.Duration, lights []light.RGB, haptics []float64) error {
	i := len(r.nows)
	r.nows = append(r.nows, now)
	r.calls = append(r.calls, time.Since(r.start))
	r.lights = append(r.lights, slices.Clone(lights))
	r.haptics = append(r.haptics, slices.Clone(haptics))
	if r.cost != nil {
		time.Sleep(r.cost(i)) // the bubble's fake clock
	}
	if r.fail != nil {
		return r.fail(i)
	}
	return nil
}

// play runs p with rec's sink in a synctest bubble until timeout on the
// fake clock, and returns Run's error and the time it returned.
func play(t *testing.T, p *Player, rec *recorder, timeout time.Duration) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	rec.start = time.Now()
	p.Sink = rec.sink
	err := p.Run(ctx)
	return time.Since(rec.start), err
}

// Frames come at start + k/Rate exactly, computed from the start: at 3
// frames/s the period (333.33 ms) is not a whole number of nanoseconds and
// frame 7 is at 2.333333333 s, not 7 × 333.333333 ms; each frame is the
// program rendered at its time.
func TestPlayerFrameTimesAreExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBind(t, example, []string{"canopy"}, []string{"back"})
		rec := &recorder{}
		ended, err := play(t, &Player{Program: b, Rate: 3}, rec, 2500*time.Millisecond)
		if err != nil || ended != 2500*time.Millisecond {
			t.Errorf("Run returned %v at %v", err, ended)
		}
		want := []time.Duration{0, 333333333, 666666666, time.Second, 1333333333, 1666666666, 2 * time.Second, 2333333333}
		if !slices.Equal(rec.nows, want) || !slices.Equal(rec.calls, want) {
			t.Errorf("frames %v called at %v, want %v", rec.nows, rec.calls, want)
		}
		lights, haptics := make([]light.RGB, 1), make([]float64, 1)
		for i, now := range rec.nows {
			b.Render(now, lights, haptics)
			if !slices.Equal(rec.lights[i], lights) || !slices.Equal(rec.haptics[i], haptics) {
				t.Errorf("frame %d: %v %v, want %v %v", i, rec.lights[i], rec.haptics[i], lights, haptics)
			}
		}
		st := (&Player{}).Stats()
		if st != (Stats{}) {
			t.Errorf("an idle player's stats %+v", st)
		}
	})
}

// A Sink that takes 5 ms of each 20 ms period delays no frame: deadlines
// come from the start, not from waits added up after each frame.
func TestPlayerDeadlinesDoNotDrift(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{cost: func(int) time.Duration { return 5 * time.Millisecond }}
		p := &Player{Program: mustBind(t, example, []string{"canopy"}, []string{"back"})}
		if _, err := play(t, p, rec, 990*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		want := make([]time.Duration, 50)
		for i := range want {
			want[i] = time.Duration(i) * 20 * time.Millisecond
		}
		if !slices.Equal(rec.calls, want) {
			t.Errorf("called at %v, want %v", rec.calls, want)
		}
		if want := (Stats{Frames: 50, Window: 50}); p.Stats() != want {
			t.Errorf("stats %+v, want %+v", p.Stats(), want)
		}
	})
}

// A Sink that takes 30 ms at 50 frames/s (20 ms) makes every frame late;
// one more than a period late is skipped for the latest frame due. The
// frames and their lateness are exact.
func TestPlayerJitterAndSkipsWithASlowSink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{cost: func(int) time.Duration { return 30 * time.Millisecond }}
		p := &Player{Program: mustBind(t, example, []string{"canopy"}, []string{"back"})}
		if ended, err := play(t, p, rec, 295*time.Millisecond); err != nil || ended != 300*time.Millisecond {
			t.Errorf("Run returned %v at %v, want nil after the Sink call in progress at 295 ms", err, ended)
		}
		// Frame 3 (60 ms) would start at 90 ms, 30 ms late: frame 4 (80 ms)
		// plays instead, 10 ms late; likewise frames 6, 9 and 12.
		if want := ms(0, 20, 40, 80, 100, 140, 160, 200, 220, 260); !slices.Equal(rec.nows, want) {
			t.Errorf("frames %v, want %v", rec.nows, want)
		}
		if want := ms(0, 30, 60, 90, 120, 150, 180, 210, 240, 270); !slices.Equal(rec.calls, want) {
			t.Errorf("called at %v, want %v", rec.calls, want)
		}
		// Lateness 0, 10, 20, 10, 20, ...: sorted 0, 10×5, 20×4.
		want := Stats{Frames: 10, Skipped: 4, Window: 10, P50: 10 * time.Millisecond, P99: 20 * time.Millisecond, Max: 20 * time.Millisecond}
		if st := p.Stats(); st != want {
			t.Errorf("stats %+v, want %+v", st, want)
		}
	})
}

// A Sink stalled for a second: the player skips to the frame due when it
// returns and plays on time from there.
func TestPlayerSkipsAfterAStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{cost: func(i int) time.Duration {
			if i == 5 {
				return time.Second
			}
			return 0
		}}
		p := &Player{Program: mustBind(t, example, []string{"canopy"}, []string{"back"}), Rate: 50}
		if _, err := play(t, p, rec, 1210*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if want := ms(0, 20, 40, 60, 80, 100, 1100, 1120, 1140, 1160, 1180, 1200); !slices.Equal(rec.nows, want) {
			t.Errorf("frames %v, want %v", rec.nows, want)
		}
		if want := (Stats{Frames: 12, Skipped: 49, Window: 12}); p.Stats() != want {
			t.Errorf("stats %+v, want %+v", p.Stats(), want)
		}
	})
}

// Sink errors are counted, the last one kept, and the frames keep their
// times.
func TestPlayerKeepsItsRateThroughSinkErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{fail: func(i int) error {
			if i%2 == 1 {
				return fmt.Errorf("bus error %d", i)
			}
			return nil
		}}
		p := &Player{Program: mustBind(t, example, []string{"canopy"}, []string{"back"}), Rate: 10}
		if ended, err := play(t, p, rec, 1050*time.Millisecond); err != nil || ended != 1050*time.Millisecond {
			t.Errorf("Run returned %v at %v", err, ended)
		}
		if want := ms(0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000); !slices.Equal(rec.nows, want) || !slices.Equal(rec.calls, want) {
			t.Errorf("frames %v called at %v, want %v", rec.nows, rec.calls, want)
		}
		st := p.Stats()
		if st.Frames != 11 || st.SinkErrors != 5 || st.LastSinkError == nil || st.LastSinkError.Error() != "bus error 9" || st.Max != 0 || st.Skipped != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestPlayerStopsWhenCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBind(t, example, []string{"canopy"}, []string{"back"})
		rec := &recorder{start: time.Now()}
		p := &Player{Program: b, Sink: rec.sink}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		var ended time.Duration
		go func() {
			err := p.Run(ctx)
			ended = time.Since(rec.start)
			done <- err
		}()
		time.Sleep(505 * time.Millisecond)
		cancel()
		synctest.Wait()
		select {
		case err := <-done:
			if err != nil || ended != 505*time.Millisecond {
				t.Errorf("Run returned %v at %v", err, ended)
			}
		default:
			t.Fatal("Run still running after its context was cancelled")
		}
		if len(rec.nows) != 26 || rec.nows[25] != 500*time.Millisecond {
			t.Errorf("frames %v, want 0..500 ms", rec.nows)
		}

		// A context already done plays nothing.
		rec2 := &recorder{}
		if err := (&Player{Program: b, Sink: rec2.sink}).Run(ctx); err != nil || len(rec2.nows) != 0 {
			t.Errorf("Run on a done context: %v, %d frames", err, len(rec2.nows))
		}
	})
}

// The window holds the last JitterWindow frames: a late frame leaves it
// after 500 more.
func TestPlayerJitterWindowSlides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{cost: func(i int) time.Duration {
			if i == 0 {
				return 35 * time.Millisecond // frame 1 (20 ms) starts 15 ms late
			}
			return 0
		}}
		b := mustBind(t, example, []string{"canopy"}, []string{"back"})
		p := &Player{Program: b}
		ctx, cancel := context.WithCancel(context.Background())
		rec.start = time.Now()
		p.Sink = rec.sink
		done := make(chan error)
		go func() { done <- p.Run(ctx) }()

		time.Sleep(990 * time.Millisecond) // frames 0..49 played
		late := 15 * time.Millisecond
		if want := (Stats{Frames: 50, Window: 50, P99: late, Max: late}); p.Stats() != want {
			t.Errorf("at 990 ms: %+v, want %+v", p.Stats(), want)
		}
		time.Sleep(10*time.Second + 45*time.Millisecond) // 11.035 s: frames 0..551
		if want := (Stats{Frames: 552, Window: JitterWindow}); p.Stats() != want {
			t.Errorf("at 11.035 s: %+v, want %+v", p.Stats(), want)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// Stats may be read from another goroutine while the player runs (the
// race detector checks the locking).
func TestPlayerStatsFromAnotherGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &Player{Program: mustBind(t, example, []string{"canopy"}, []string{"back"}),
			Sink: func(time.Duration, []light.RGB, []float64) error { return nil }}
		ctx, cancel := context.WithTimeout(context.Background(), 1990*time.Millisecond)
		defer cancel()
		done := make(chan error)
		go func() { done <- p.Run(ctx) }()
		var seen []uint64
		for range 10 {
			time.Sleep(137 * time.Millisecond) // never at a frame's time
			seen = append(seen, p.Stats().Frames)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// At 137 ms, 274 ms, ...: frames 0..6, 0..13, ...
		want := []uint64{7, 14, 21, 28, 35, 42, 48, 55, 62, 69}
		if !slices.Equal(seen, want) {
			t.Errorf("frames seen %v, want %v", seen, want)
		}
		if st := p.Stats(); st.Frames != 100 {
			t.Errorf("after Run: %+v", st)
		}
	})
}

func TestPlayerRefusesBadSettings(t *testing.T) {
	b := mustBind(t, example, []string{"canopy"}, []string{"back"})
	sink := func(time.Duration, []light.RGB, []float64) error { return nil }
	for _, c := range []struct {
		p    *Player
		want string
	}{
		{&Player{Sink: sink}, "dreamscape: a player without a program"},
		{&Player{Program: b}, "dreamscape: a player without a sink"},
		{&Player{Program: b, Sink: sink, Rate: -1}, "dreamscape: frame rate -1/s is outside 1..1000"},
		{&Player{Program: b, Sink: sink, Rate: 1001}, "dreamscape: frame rate 1001/s is outside 1..1000"},
	} {
		if err := c.p.Run(context.Background()); err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %s", err, c.want)
		}
	}

	synctest.Test(t, func(t *testing.T) {
		p := &Player{Program: b, Sink: sink}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- p.Run(ctx) }()
		synctest.Wait()
		if err := p.Run(ctx); !errors.Is(err, ErrRunning) {
			t.Errorf("a second Run: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// Nearest rank: the smallest value that at least pct % of the values do
// not exceed.
func TestNearestRank(t *testing.T) {
	four := []time.Duration{1, 2, 3, 4}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i + 1)
	}
	for _, c := range []struct {
		sorted []time.Duration
		pct    int
		want   time.Duration
	}{
		{[]time.Duration{7}, 50, 7}, {[]time.Duration{7}, 99, 7},
		{four, 50, 2}, {four, 99, 4}, {four, 25, 1}, {four, 26, 2},
		{hundred, 50, 50}, {hundred, 99, 99}, {append(hundred, 101), 99, 100},
	} {
		if got := nearestRank(c.sorted, c.pct); got != c.want {
			t.Errorf("p%d of %d values: %v, want %v", c.pct, len(c.sorted), got, c.want)
		}
	}
}

// A frame costs no allocation: playing 5050 frames allocates as much as
// playing 50 (the frame buffers, the timer and the context are set up
// once), give or take the few that the runtime's own goroutines make in
// the meantime (the count is the process's).
func TestPlayerFramesDoNotAllocate(t *testing.T) {
	b := mustBind(t, example, []string{"canopy"}, []string{"back"})
	mallocs := func(d time.Duration) (n uint64) {
		synctest.Test(t, func(t *testing.T) {
			p := &Player{Program: b, Sink: func(time.Duration, []light.RGB, []float64) error { return nil }}
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if err := p.Run(ctx); err != nil {
				t.Error(err)
			}
			runtime.ReadMemStats(&after)
			n = after.Mallocs - before.Mallocs
		})
		return n
	}
	short, long := mallocs(time.Second-time.Millisecond), mallocs(101*time.Second-time.Millisecond)
	if long > short+50 {
		t.Errorf("%d allocations for 50 frames, %d for 5050", short, long)
	}
}
