package controller

import (
	"bytes"
	"context"
	"math"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/drv2605"
	"github.com/sleegation/podd/actuators/gpioout"
	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/actuators/zones"
	"github.com/sleegation/podd/dreamscape"
	"github.com/sleegation/podd/internal/outputcheck"
	"github.com/sleegation/podd/sim"
)

// showOn builds a show of one zone, canopy, the whole strip, playing prog
// (nil: the ambient light), with a wake ramp of ramp from safe to wake.
func showOn(t *testing.T, prog *dreamscape.Program, safe, wake apa102.Color, ramp time.Duration) func(*apa102.Dev, *sim.Hardware) *Show {
	return func(strip *apa102.Dev, _ *sim.Hardware) *Show {
		o, err := zones.New(zones.Layout{Strip: strip, LEDs: ledCount, Lights: []zones.Light{{Name: "canopy", First: 0, Count: ledCount}}})
		if err != nil {
			t.Fatal(err)
		}
		s := &Show{
			Outputs: o, Rate: 50, Ambient: light.FromBytes(40, 18, 4), Strip: strip,
			SafeLight: light.FromBytes(safe.R, safe.G, safe.B), WakeLight: light.FromBytes(wake.R, wake.G, wake.B), WakeRamp: ramp,
		}
		if prog != nil {
			b, err := prog.Bind(o.LightNames(), o.PlaceNames())
			if err != nil {
				t.Fatal(err)
			}
			s.Program = b
		}
		return s
	}
}

// strobe is a 1 s program flashing white and black ten times a second.
func strobe() *dreamscape.Program {
	p := &dreamscape.Program{Source: "test", Name: "strobe", Duration: time.Second, Loop: true}
	tr := dreamscape.LightTrack{Zone: "canopy"}
	for i := range 20 {
		k := dreamscape.LightKey{At: time.Duration(i) * 50 * time.Millisecond, Hex: "#000000", Level: 1, Ease: dreamscape.Step}
		if i%2 == 0 {
			k.Hex, k.Color = "#ffffff", light.RGB{R: 1, G: 1, B: 1}
		}
		tr.Keys = append(tr.Keys, k)
	}
	p.Lights = []dreamscape.LightTrack{tr}
	return p
}

func uniform(leds []sim.LED) (sim.LED, bool) {
	for _, l := range leds[1:] {
		if l != leds[0] {
			return sim.LED{}, false
		}
	}
	return leds[0], true
}

// A strobing program reaches the strip as a slow change that passes the
// flash rules, and the pod posts one guard event for the episode, however
// long it lasts.
func TestTheShowGuardsAStrobeAndReportsItOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var buf bytes.Buffer
		rec := sim.NewOutputRecorder(&buf)
		r := newRigWith(t, calm, &memStore{}, rigOpts{show: func(strip *apa102.Dev, hw *sim.Hardware) *Show {
			hw.Record(rec)
			return showOn(t, strobe(), apa102.Color{R: 10, G: 4, B: 1}, apa102.Color{R: 10, G: 4, B: 1}, 0)(strip, hw)
		}})
		defer r.stop()
		until(start, 30*time.Second)
		st := r.pod.Status()
		if st.Show == nil || st.Show.Program != "strobe" || !st.Show.Playing || !slices.Equal(st.Show.Limited, []string{"canopy"}) {
			t.Fatalf("show %+v: want the strobe playing, canopy limited", st.Show)
		}
		guards := r.up.Events("guard")
		if len(guards) != 1 || guards[0].Fields["zone"] != "canopy" || guards[0].Fields["guard"] != "light" || guards[0].Fields["limit"] != "slew" {
			t.Fatalf("guard events %+v, want one for canopy", guards)
		}
		if err := rec.Flush(); err != nil {
			t.Fatal(err)
		}
		frames, err := sim.ReadOutputRecord(&buf)
		if err != nil {
			t.Fatal(err)
		}
		lights := []outputcheck.Zone{{Name: "canopy", First: 0, Count: ledCount}}
		s, rep, err := outputcheck.Check(lights, frames)
		if err != nil {
			t.Fatal(err)
		}
		if vs := rep.Violations(); len(vs) != 0 {
			t.Errorf("the strip broke the flash rules: %v", vs)
		}
		if n := len(s.Zones[0]); n < 500 {
			t.Errorf("the strip changed %d times in the program's 15 s or so: it did not play", n)
		}
	})
}

// An abort shows the safe light at once and the wake ramp raises it to the
// wake light over the configured time; after the acknowledgement the show
// plays again, and a later abort starts from the safe light again.
func TestAnAbortShowsTheSafeLightThenTheWakeRamp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		safe, wake := apa102.Color{R: 10, G: 4, B: 1}, apa102.Color{R: 100, G: 40, B: 10}
		var indicator *sim.Line
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{safe: safe, show: func(strip *apa102.Dev, hw *sim.Hardware) *Show {
			s := showOn(t, nil, safe, wake, time.Minute)(strip, hw)
			indicator = hw.MotorLine("INDICATOR")
			d, err := gpioout.New(indicator, gpioout.Opts{Name: "indicator"})
			if err != nil {
				t.Fatal(err)
			}
			s.Indicator = d
			return s
		}})
		defer r.stop()
		shows := func() sim.LED {
			t.Helper()
			l, ok := uniform(r.hw.Strip.Shown())
			if !ok {
				t.Fatalf("the strip is not uniform: %v", r.hw.Strip.Shown())
			}
			return l
		}
		until(start, 18*time.Second)
		if l := shows(); l != (sim.LED{R: 40, G: 18, B: 4, Brightness: 31}) {
			t.Fatalf("before the episode the strip shows %v, want the ambient light", l)
		}
		var abortAt time.Time
		for time.Since(start) < 90*time.Second && abortAt.IsZero() {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			if r.pod.Status().Safety.Latched != nil {
				abortAt = time.Now()
			}
		}
		if abortAt.IsZero() {
			t.Fatal("no abort")
		}
		if l := shows(); l != (sim.LED{R: 10, G: 4, B: 1, Brightness: 31}) {
			t.Fatalf("at the abort the strip shows %v, want the safe light", l)
		}
		if indicator.Read() {
			t.Fatal("the indicator was lit before the abort")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if !indicator.Read() {
			t.Fatal("the indicator is not lit a second after the abort")
		}
		time.Sleep(29 * time.Second)
		synctest.Wait()
		mid := shows()
		if st := r.pod.Status().Show; st == nil || st.Playing || st.Wake == nil || *st.Wake < 0.49 || *st.Wake > 0.51 {
			t.Fatalf("30 s into the ramp the show is %+v, want not playing, wake 0.5", st)
		}
		if mid.R < 54 || mid.R > 56 || mid.G < 21 || mid.G > 23 {
			t.Fatalf("30 s into a 1 min ramp the strip shows %v, want half way (55, 22, 5)", mid)
		}
		time.Sleep(31 * time.Second)
		synctest.Wait()
		if l := shows(); l != (sim.LED{R: 100, G: 40, B: 10, Brightness: 31}) {
			t.Fatalf("after the ramp the strip shows %v, want the wake light", l)
		}
		until(start, 140*time.Second) // the heart rate is back to 64
		if _, err := r.pod.Ack(context.Background(), techAck); err != nil {
			t.Fatal(err)
		}
		until(start, 160*time.Second)
		if st := r.pod.Status().Show; st == nil || !st.Playing || st.Wake != nil {
			t.Fatalf("after the ack and the settling the show is %+v, want playing", st)
		}
		if indicator.Read() {
			t.Fatal("the indicator is still lit after the ack")
		}
		if l := shows(); l != (sim.LED{R: 40, G: 18, B: 4, Brightness: 31}) {
			t.Fatalf("after the ack the strip shows %v, want the ambient light", l)
		}
		// The next safe state starts from the safe light, not where the
		// last ramp ended: the strip's Halt shows it, before the show's
		// next frame (the bubble's clock does not move here).
		r.pod.Panic("test")
		if l := shows(); l != (sim.LED{R: 10, G: 4, B: 1, Brightness: 31}) {
			t.Fatalf("after a panic the strip shows %v, want the safe light", l)
		}
	})
}

// steadyHaptic is a 1 s looping program holding the back's motor at
// intensity x.
func steadyHaptic(x float64) *dreamscape.Program {
	return &dreamscape.Program{Source: "test", Name: "steady", Duration: time.Second, Loop: true,
		Haptics: []dreamscape.HapticTrack{{Place: "back", Keys: []dreamscape.HapticKey{{At: 0, Pattern: dreamscape.Steady, Intensity: x}}}}}
}

// A haptic driver that reports over-temperature has its motor held still
// for MotorRest, with a fault event when the rest begins and one when it
// ends; then the motor plays again.
func TestAMotorWhoseDriverOverheatsIsHeldStill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var haptic *sim.DRV2605
		r := newRigWith(t, calm, &memStore{}, rigOpts{show: func(strip *apa102.Dev, hw *sim.Hardware) *Show {
			if err := hw.AddDRV2605(); err != nil {
				t.Fatal(err)
			}
			haptic = hw.Haptic
			opts := drv2605.DefaultOpts
			dev, err := drv2605.New(hw.I2C, &opts)
			if err != nil {
				t.Fatal(err)
			}
			o, err := zones.New(zones.Layout{Strip: strip, LEDs: ledCount, Lights: []zones.Light{{Name: "canopy", First: 0, Count: ledCount}},
				Places: []zones.Place{{Name: "back", Motor: dev}}})
			if err != nil {
				t.Fatal(err)
			}
			b, err := steadyHaptic(0.5).Bind(o.LightNames(), o.PlaceNames())
			if err != nil {
				t.Fatal(err)
			}
			return &Show{Outputs: o, Program: b, Rate: 50}
		}})
		defer r.stop()
		until(start, 20*time.Second)
		// The model's drive is a fraction of the chip's widest clamp: 0.5
		// of a 3 V motor's full drive (OD_CLAMP 138) is RTP 64/127 of
		// 138/255.
		running := haptic.Intensity()
		if want := 64.0 / 127 * 138 / 255; math.Abs(running-want) > 1e-9 {
			t.Fatalf("the back's motor runs at %v, want %v", running, want)
		}
		haptic.SetOverTemp(true)
		until(start, 22*time.Second)
		faults := r.up.Events("fault")
		if len(faults) != 1 || faults[0].Fields["device"] != "drv2605" || faults[0].Fields["place"] != "back" || faults[0].Fields["fault"] != "over_temperature" || faults[0].Fields["active"] != true {
			t.Fatalf("fault events %+v, want one over_temperature of the back's drv2605", faults)
		}
		haptic.SetOverTemp(false)
		until(start, 50*time.Second)
		if got := haptic.Intensity(); got != 0 {
			t.Fatalf("during the rest the motor runs at %v, want still", got)
		}
		until(start, 90*time.Second)
		faults = r.up.Events("fault")
		if len(faults) != 2 || faults[1].Fields["active"] != false || faults[1].Fields["fault"] != "over_temperature" {
			t.Fatalf("fault events %+v, want the rest's end", faults)
		}
		if got := haptic.Intensity(); got != running {
			t.Fatalf("after the rest the motor runs at %v, want %v again", got, running)
		}
	})
}

// The program's preview (the keyframes the guard would slow) runs in the
// background: the show plays while it runs, and its findings reach the
// status when it is done.
func TestTheProgramsPreviewRunsWhileTheShowPlays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		release := make(chan struct{})
		r := newRigWith(t, calm, &memStore{}, rigOpts{show: func(strip *apa102.Dev, hw *sim.Hardware) *Show {
			s := showOn(t, nil, apa102.Color{R: 10, G: 4, B: 1}, apa102.Color{R: 10, G: 4, B: 1}, 0)(strip, hw)
			s.Preview = func(ctx context.Context) []string {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return []string{"lights.canopy[1] (at 50ms)"}
			}
			return s
		}})
		defer r.stop()
		until(start, 20*time.Second)
		st := r.pod.Status().Show
		if st == nil || !st.Playing || st.Frames < 900 || st.Slowed != nil {
			t.Fatalf("show while the preview runs: %+v; want playing, ~1000 frames, nothing slowed yet", st)
		}
		close(release)
		synctest.Wait()
		if st := r.pod.Status().Show; !slices.Equal(st.Slowed, []string{"lights.canopy[1] (at 50ms)"}) {
			t.Fatalf("slowed %v after the preview, want its finding", st.Slowed)
		}
	})
}

// When the outputs open, the light guard fades the strip from the safe
// light to the program (here the ambient light, 0.12 of full scale above
// it): that is no guard episode, neither in the log nor as an event, and
// once the fade is over no zone is limited. The fade itself still goes at
// the guard's pace: the first frames after opening are between the two.
func TestTheFadeFromTheSafeLightIsNoGuardEpisode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var buf bytes.Buffer
		rec := sim.NewOutputRecorder(&buf)
		r := newRigWith(t, calm, &memStore{}, rigOpts{show: func(strip *apa102.Dev, hw *sim.Hardware) *Show {
			hw.Record(rec)
			return showOn(t, nil, apa102.Color{R: 10, G: 4, B: 1}, apa102.Color{R: 10, G: 4, B: 1}, 0)(strip, hw)
		}})
		defer r.stop()
		until(start, 30*time.Second)
		st := r.pod.Status()
		if st.Show == nil || !st.Show.Playing || len(st.Show.Limited) != 0 {
			t.Fatalf("show %+v: want the ambient light playing, nothing limited", st.Show)
		}
		if guards := r.up.Events("guard"); len(guards) != 0 {
			t.Fatalf("guard events %+v, want none", guards)
		}
		if err := rec.Flush(); err != nil {
			t.Fatal(err)
		}
		frames, err := sim.ReadOutputRecord(&buf)
		if err != nil {
			t.Fatal(err)
		}
		streams, rep, err := outputcheck.Check([]outputcheck.Zone{{Name: "canopy", First: 0, Count: ledCount}}, frames)
		if err != nil {
			t.Fatal(err)
		}
		if vs := rep.Violations(); len(vs) != 0 {
			t.Errorf("the strip broke the flash rules: %v", vs)
		}
		safe, ambient := light.FromBytes(10, 4, 1).R, light.FromBytes(40, 18, 4).R
		between := 0
		for _, sm := range streams.Zones[0] {
			if sm.C.R > safe+1e-6 && sm.C.R < ambient-1e-6 {
				between++
			}
		}
		if between < 10 {
			t.Fatalf("%d frames between the safe light and the ambient light, want the guard's fade (over 10)", between)
		}
	})
}
