package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/drv2605"
	"github.com/sleegation/podd/actuators/hapticguard"
	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/actuators/lightguard"
	"github.com/sleegation/podd/actuators/zones"
	"github.com/sleegation/podd/dreamscape"
	"github.com/sleegation/podd/uplink"
)

// Show is the pod's light and haptics as the show loop plays them (see
// "The show" in the package doc).
type Show struct {
	// Outputs are the pod's zones and places.
	Outputs *zones.Outputs
	// Program is the dreamscape played while the outputs are open, bound
	// to Outputs' zones and places; nil: Ambient, steady, in every strip
	// zone, and the motors still.
	Program *dreamscape.Bound
	// Rate is frames a second; dreamscape.DefaultRate when zero.
	Rate int
	// Ambient is the idle light (linear) when no program is played.
	Ambient light.RGB
	// LightGuard and HapticGuard configure the guards every frame passes.
	LightGuard  lightguard.Opts
	HapticGuard hapticguard.Opts
	// Strip is the LED strip whose safe colour the wake ramp moves
	// (apa102.Dev.SetSafe); nil: no wake ramp.
	Strip SafeColorer
	// SafeLight is the strip's light in the safe state (linear); the
	// daemon opens the strip with it as its safe colour. WakeLight is
	// where the wake ramp after an abort ends, WakeRamp how long it takes
	// (0: no ramp).
	SafeLight, WakeLight light.RGB
	WakeRamp             time.Duration
	// Indicator is the pod's indicator LED (gpioout.Dev), lit while an
	// abort is latched; nil for none.
	Indicator Indicator
	// Preview, when set, names the program's keyframes the light guard
	// would have to slow (it plays the program through a guard of its own,
	// which takes a while for a long program); the show runs it once, in
	// the background while it plays, logs what it finds and reports it in
	// ShowStatus.Slowed. It returns early, with what it has, once ctx is
	// done.
	Preview func(ctx context.Context) []string
}

// Indicator is an on/off light for the technician (gpioout.Dev).
type Indicator interface {
	Set(on bool) error
}

// SafeColorer moves the safe colour of the strip (apa102.Dev).
type SafeColorer interface {
	SetSafe(c apa102.Color) error
}

// ShowStatus is what the show loop plays.
type ShowStatus struct {
	// Program is the dreamscape's name; "" for the steady ambient light.
	Program string `json:"program"`
	// Playing is true while frames reach the outputs; false while they are
	// in their safe state.
	Playing bool     `json:"playing"`
	Zones   []string `json:"zones"`
	Places  []string `json:"places"`
	// Limited names the zones and places a guard is limiting now.
	Limited []string `json:"limited,omitempty"`
	// Wake is the wake ramp's progress after an abort, 0..1; absent
	// outside one.
	Wake *float64 `json:"wake,omitempty"`
	// Frames, Skipped and the jitter are the player's (dreamscape.Stats):
	// frames played, frames skipped for being late, and the lateness of
	// the last frames, milliseconds.
	// SelfTest is the self-test playing (lights or haptics), "" for none.
	SelfTest string `json:"selftest,omitempty"`
	// LastSelfTest is the running or the last self-test's outcome (each
	// output's device taking its frames or not), nil before the first.
	LastSelfTest *SelfTestOutcome `json:"last_selftest,omitempty"`
	// Slowed names the program's keyframes the light guard slows
	// (Show.Preview), once known.
	Slowed     []string `json:"slowed,omitempty"`
	Frames     uint64   `json:"frames"`
	Skipped    uint64   `json:"skipped"`
	JitterP50  float64  `json:"jitter_p50_ms"`
	JitterP99  float64  `json:"jitter_p99_ms"`
	JitterMax  float64  `json:"jitter_max_ms"`
	WriteError string   `json:"write_error,omitempty"`
}

// show is the show loop's state. Only the player's goroutine touches it,
// except status, under mu.
type show struct {
	p      *Pod
	s      *Show
	lg     *lightguard.Guard
	hg     *hapticguard.Guard
	player *dreamscape.Player
	names  []string // zone names, then place names
	strip  []bool   // per zone: on the strip
	safe   []light.RGB
	ident  light.RGB

	wasSafe   bool
	rampFrom  time.Duration // when the current abort's wake ramp began; -1: none
	safeShown apa102.Color  // the safe colour last set on the strip
	lit       []bool        // per zone and place: a guard episode open (a place's: announced)
	// fadeUntil is when the light guard's fade from the safe light, after
	// the outputs opened, is over (the show's clock): a light episode is
	// announced only if it is still open then (fadeQuiet).
	fadeUntil time.Duration
	announced []bool // per zone: its open light episode was announced
	// fade is, per zone, the program's request followed during the fade
	// (fadeTrack); req is the frame as the program asked for it, before
	// the light guard.
	fade     []fadeTrack
	req      []light.RGB
	writeLog time.Time     // last write error logged
	statusAt time.Duration // when the motors' status was last read (the show's clock)
	// restUntil is, per place, until when its motor is held still after
	// its driver reported a fault (0: none); fault what it reported.
	restUntil []time.Duration
	fault     []string
	// indicated is what the indicator was last set to: 0 unknown, 1 off,
	// 2 on.
	indicated int
	test      selfTest    // the self-test in progress (Pod.SelfTest)
	scratch   []light.RGB // the lights a haptics self-test renders and drops

	// base is the show's clock's origin; lastFrame is when the last frame
	// ended on it (ns), read by the safety core (sinceFrame).
	base        time.Time
	lastFrame   atomic.Int64
	limBuf      []string // the names a guard limits, reused each frame
	previewOnce sync.Once
	lgEnded     []lightguard.Episode
	hgEnded     []hapticguard.Episode

	mu     sync.Mutex
	status ShowStatus
}

// sinceFrame is how long ago the show's last frame ended, or since the
// show was made before the first.
func (sh *show) sinceFrame() time.Duration {
	return time.Since(sh.base) - time.Duration(sh.lastFrame.Load())
}

// ambientProgram is a steady light of c in every zone named.
func ambientProgram(zoneNames []string, c light.RGB) *dreamscape.Program {
	p := &dreamscape.Program{Source: "ambient", Name: "ambient", Duration: time.Hour, Loop: true}
	r, g, b := c.Bytes()
	hex := fmt.Sprintf("#%02x%02x%02x", r, g, b)
	for _, z := range zoneNames {
		p.Lights = append(p.Lights, dreamscape.LightTrack{Zone: z, Keys: []dreamscape.LightKey{{At: 0, Hex: hex, Color: c, Level: 1, Ease: dreamscape.Step}}})
	}
	return p
}

func newShow(p *Pod, s *Show) (*show, error) {
	o := s.Outputs
	names, places := o.LightNames(), o.PlaceNames()
	prog := s.Program
	if prog == nil {
		var stripZones []string
		for _, n := range names {
			if z, _ := o.Zone(n); z.PWM == nil && n != zones.Unzoned {
				stripZones = append(stripZones, n)
			}
		}
		var err error
		if prog, err = ambientProgram(stripZones, s.Ambient).Bind(names, places); err != nil {
			return nil, err
		}
	}
	lg, err := lightguard.New(len(names), s.LightGuard)
	if err != nil {
		return nil, err
	}
	var hg *hapticguard.Guard // nil: no places
	if len(places) > 0 {
		if hg, err = hapticguard.New(len(places), s.HapticGuard); err != nil {
			return nil, err
		}
		for i := range places {
			hg.SetOnOff(i, o.OnOff(i))
		}
	}
	sh := &show{p: p, s: s, lg: lg, hg: hg, names: append(names, places...),
		strip: make([]bool, len(names)), safe: make([]light.RGB, len(names)), lit: make([]bool, len(names)+len(places)), announced: make([]bool, len(names)),
		fade: make([]fadeTrack, len(names)), req: make([]light.RGB, len(names)),
		rampFrom: -1, wasSafe: true, base: time.Now(), scratch: make([]light.RGB, len(names)), restUntil: make([]time.Duration, len(places)), fault: make([]string, len(places))}
	for i, n := range names {
		z, _ := o.Zone(n)
		sh.strip[i] = z.PWM == nil
	}
	sh.safeShown = SafeColor(s.SafeLight)
	ir, ig, ib := IdentifyLight.R, IdentifyLight.G, IdentifyLight.B
	sh.ident = light.FromBytes(ir, ig, ib)
	sh.player = &dreamscape.Player{Program: prog, Rate: s.Rate, Sink: sh.frame}
	sh.status = ShowStatus{Zones: names, Places: places}
	if s.Program != nil {
		sh.status.Program = s.Program.Name()
	}
	return sh, nil
}

// run plays until ctx is done; the first run also previews the program
// (Show.Preview) on a goroutine it waits for.
func (sh *show) run(ctx context.Context, up func()) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	if sh.s.Preview != nil {
		sh.previewOnce.Do(func() {
			wg.Go(func() {
				hits := sh.s.Preview(ctx)
				if len(hits) == 0 {
					return
				}
				sh.p.log.Warn("dreamscape: the photosensitivity guard slows these changes of the program", "program", sh.status.Program, "keyframes", strings.Join(hits, "; "))
				sh.mu.Lock()
				sh.status.Slowed = hits
				sh.mu.Unlock()
			})
		})
	}
	up()
	return sh.player.Run(ctx)
}

// frame is the player's sink: one frame through the guards to the outputs
// while the gate is open; the safe light and its wake ramp while it is
// closed.
func (sh *show) frame(_ time.Duration, lights []light.RGB, haptics []float64) error {
	// The guards and the ramp run on the show's own clock, from the show's
	// creation: a player restarted by the supervisor counts its frames
	// from 0 again, and the guards' windows must not start over with it.
	now := time.Since(sh.base)
	defer func() { sh.lastFrame.Store(int64(time.Since(sh.base))) }()
	p := sh.p
	testing := sh.testFrame(lights, haptics)
	if p.identifying() {
		for i := range lights {
			if sh.strip[i] {
				lights[i] = sh.ident
			} else {
				lights[i] = light.RGB{}
			}
		}
		clear(haptics)
	}
	if p.parts.Gate.Safe() {
		return sh.safeFrame(now)
	}
	if sh.wasSafe {
		sh.wasSafe, sh.rampFrom = false, -1
		sh.setSafe(sh.s.SafeLight) // the next abort starts from the safe light
		sh.fadeUntil = now + fadeQuiet(sh.lg.MaxSlew())
		// A new opening: every episode from here on is a new one.
		clear(sh.lit)
		clear(sh.announced)
		clear(sh.fade)
	}
	sh.motorFaults(now, haptics)
	// A frame of the wrong shape cannot come from a bound program.
	if now < sh.fadeUntil {
		copy(sh.req, lights) // the request, for fadeTrack
	}
	limitedL, _ := sh.lg.Limit(now, lights)
	limitedH := false
	if sh.hg != nil {
		limitedH, _ = sh.hg.Limit(now, haptics)
	}
	if limitedL || limitedH || sh.anyLit() {
		sh.announce(now, lights, haptics)
	}
	shown := false
	err := p.parts.Gate.Do(func() error { shown = true; return sh.s.Outputs.Show(lights, haptics) })
	if testing && shown {
		sh.recordTest(sh.s.Outputs.LastErrors())
	}
	switch {
	case errors.Is(err, actuators.ErrSafeState):
		return sh.safeFrame(now)
	case err != nil && !p.parts.Gate.Safe():
		// A bus error (a halted driver's ErrHalted comes with a closing
		// gate: the next frame takes the safe path). Logged at most once
		// a minute; the player counts every one.
		if t := time.Now(); t.Sub(sh.writeLog) >= time.Minute {
			sh.writeLog = t
			p.log.Warn("dreamscape frame not shown", "err", err)
		}
	}
	sh.setStatus(true, nil, err)
	return err
}

// indicate lights the indicator while an abort is latched. The safety core
// calls it every keepSafeRetry, so it does not wait on the show's frames
// (a frame hung on a motor's bus); only that goroutine touches indicated.
func (sh *show) indicate() {
	if sh.s.Indicator == nil {
		return
	}
	on := sh.p.wd.Latched()
	want := 1
	if on {
		want = 2
	}
	if want == sh.indicated {
		return
	}
	if err := sh.s.Indicator.Set(on); err != nil {
		sh.indicated = 0
		return
	}
	sh.indicated = want
}

// MotorRest is how long a motor is held still after its driver reported
// over-temperature, over-current or a reset: the chip shut its output down
// (or lost its intensity cap) on its own; the pod lets it cool and says so.
const MotorRest = time.Minute

// motorStatusEvery is how often the motors' drivers are asked
// for their status (once a second at the default rate).
const motorStatusEvery = time.Second

// motorStatus is a motor whose driver reports faults (drv2605.Dev).
type motorStatus interface {
	Status() (drv2605.Status, error)
}

// motorFaults reads the haptic drivers' status once a second, holds a
// place whose driver reported a fault still for MotorRest, and posts a
// "fault" event when such a rest begins and when it ends.
func (sh *show) motorFaults(now time.Duration, haptics []float64) {
	o := sh.s.Outputs
	if now-sh.statusAt >= motorStatusEvery {
		sh.statusAt = now
		for i := range haptics {
			m, ok := o.Motor(i).(motorStatus)
			if !ok {
				continue
			}
			_, err := m.Status()
			var what string
			switch {
			case errors.Is(err, drv2605.ErrOverTemp):
				what = "over_temperature"
			case errors.Is(err, drv2605.ErrOverCurrent):
				what = "over_current"
			case errors.Is(err, drv2605.ErrReset):
				what = "reset"
			default:
				continue // a bus error: the next frame's write reports it
			}
			if sh.fault[i] == "" {
				sh.p.log.Error("haptic driver fault: the motor is held still", "place", o.PlaceNames()[i], "fault", what, "for", MotorRest)
				sh.p.post(uplink.Event{Type: "fault", Fields: map[string]any{
					"device": "drv2605", "place": o.PlaceNames()[i], "fault": what, "active": true, "error": err.Error(),
				}}, time.Now())
			}
			sh.fault[i], sh.restUntil[i] = what, now+MotorRest
		}
	}
	for i := range haptics {
		if sh.fault[i] == "" {
			continue
		}
		if now < sh.restUntil[i] {
			haptics[i] = 0
			continue
		}
		sh.p.log.Info("haptic driver fault over: the motor plays again", "place", o.PlaceNames()[i], "fault", sh.fault[i])
		sh.p.post(uplink.Event{Type: "fault", Fields: map[string]any{
			"device": "drv2605", "place": o.PlaceNames()[i], "fault": sh.fault[i], "active": false,
		}}, time.Now())
		sh.fault[i] = ""
	}
}

// safeFrame keeps the strip at the safe light, rising along the wake ramp
// after an abort, and tells the light guard what is shown, so the first
// frame after the gate opens again changes slowly from it.
func (sh *show) safeFrame(now time.Duration) error {
	p := sh.p
	sh.wasSafe = true
	target := sh.s.SafeLight
	var wake *float64
	if p.wd.Latched() && sh.s.WakeRamp > 0 && sh.s.Strip != nil {
		if sh.rampFrom < 0 {
			// The ramp runs from the abort, also when the latch came
			// from the store after a restart: the light continues where
			// it was, rather than starting over from the safe light.
			sh.rampFrom = now
			if l := p.wd.Status().Latched; l != nil {
				sh.rampFrom = now - min(max(time.Since(l.At), 0), sh.s.WakeRamp)
			}
		}
		f := min(1, float64(now-sh.rampFrom)/float64(sh.s.WakeRamp))
		wake = &f
		a, b := sh.s.SafeLight, sh.s.WakeLight
		target = light.RGB{R: a.R + (b.R-a.R)*f, G: a.G + (b.G-a.G)*f, B: a.B + (b.B-a.B)*f}
	} else if sh.rampFrom >= 0 {
		// The abort was acknowledged; the outputs wait for the vitals to
		// settle. The strip keeps the ramp's light until they open, so
		// the light never drops at once; the show fades from it.
		target = light.FromBytes(sh.safeShown.R, sh.safeShown.G, sh.safeShown.B)
	}
	var err error
	if sh.rampFrom < 0 || wake != nil {
		err = sh.setSafe(target)
	}
	shown := light.FromBytes(sh.safeShown.R, sh.safeShown.G, sh.safeShown.B)
	for i := range sh.safe {
		sh.safe[i] = light.RGB{}
		if sh.strip[i] {
			sh.safe[i] = shown
		}
	}
	_ = sh.lg.Reset(now, sh.safe)
	sh.s.Outputs.Forget()
	sh.setStatus(false, wake, err)
	return err
}

// fadeTrack follows a zone's request during the fade from the safe
// light: the side (per channel, -1, 0 or +1) the request first lay on of
// what was shown, whether it has since crossed to the other side, which
// no fade explains (a strobe: the zone's episode is then announced at
// once), and the request's own course: the one before, the direction
// each channel last moved, and how often a channel turned back (a strobe
// does every frame; a fade's target holds or moves one way).
type fadeTrack struct {
	side     [3]int8
	reversed bool
	prev     light.RGB
	seen     bool
	dir      [3]int8
	turns    int
}

// reverses notes the side of shown (per channel) the program's request
// req lies on and the direction the request itself moved, and reports
// whether the request crossed to the other side of a side noted before,
// or turned back twice (no fade does either: a strobe). A channel within
// fadeSideTolerance lies on neither side and has not moved.
func (f *fadeTrack) reverses(req, shown light.RGB) bool {
	d := [3]float64{req.R - shown.R, req.G - shown.G, req.B - shown.B}
	moved := [3]float64{req.R - f.prev.R, req.G - f.prev.G, req.B - f.prev.B}
	seen := f.seen
	f.prev, f.seen = req, true
	reversed := false
	for c := range d {
		if side := sign(d[c]); side != 0 {
			if f.side[c] == 0 {
				f.side[c] = side
			} else if f.side[c] != side {
				reversed = true
			}
		}
		if dir := sign(moved[c]); seen && dir != 0 {
			if f.dir[c] == -dir {
				f.turns++
			}
			f.dir[c] = dir
		}
	}
	return reversed || f.turns >= 2
}

// sign is +1 or -1 for a value beyond fadeSideTolerance either way, else 0.
func sign(v float64) int8 {
	switch {
	case v > fadeSideTolerance:
		return 1
	case v < -fadeSideTolerance:
		return -1
	}
	return 0
}

// fadeSideTolerance is how far (of full scale) a request must lie from
// what is shown to be on one side of it: a step of 8-bit light.
const fadeSideTolerance = 1.0 / 255

// fadeQuiet is how long after the outputs open the light guard's episodes
// are not announced, for a guard of maxSlew (full scale per second): the
// time it takes to move any channel from the safe light to any level
// (1/maxSlew: 2 s at lightguard.HardMaxSlew), and lightguard.EpisodeGap
// for the episode to end. The guard slows the change from the safe light
// to the program by design (safeFrame), which is no event for the hub; a
// program the guard still limits after that is announced then.
func fadeQuiet(maxSlew float64) time.Duration {
	return time.Duration(float64(time.Second)/maxSlew) + lightguard.EpisodeGap
}

// ShowStallAfter is how long the show may play no frame while the outputs
// are open before the safety core takes them back: a frame stuck on a hung
// bus would otherwise leave the motors at their last intensity and the
// guards without a say.
const ShowStallAfter = time.Second

// After a stall the outputs stay held for StallHold, doubling with each
// stall that follows within StallMemory of the last, up to MaxStallHold: a
// bus that hangs now and then must not cycle the light and the motors
// between the show and the safe state.
const (
	StallHold    = time.Minute
	MaxStallHold = 30 * time.Minute
	StallMemory  = 30 * time.Minute
)

// checkShow puts every output in its safe state when the show has played
// no frame for ShowStallAfter while the gate is open, and reports it; the
// outputs stay held (HoldShowStalled) until the show plays again and the
// stall's hold (StallHold, doubling) is over. The
// safety core calls it every keepSafeRetry; it never waits on the show.
func (p *Pod) checkShow(ctx context.Context) {
	if p.show == nil {
		return
	}
	stalled := p.show.sinceFrame()
	switch {
	case stalled > ShowStallAfter && !p.parts.Gate.Safe():
		p.log.Error("the dreamscape played no frame: outputs to their safe state", "for", stalled.Round(time.Millisecond))
		p.post(uplink.Event{Type: "fault", Fields: map[string]any{"part": "dreamscape", "fault": "stalled", "active": true,
			"error": fmt.Sprintf("no frame for %v", stalled.Round(time.Millisecond))}}, time.Now())
		p.showStalled.Store(true)
		now := time.Now()
		if now.Sub(p.lastStall) > StallMemory {
			p.stalls = 0
		}
		p.stalls++
		p.lastStall = now
		hold := min(StallHold<<min(p.stalls-1, 5), MaxStallHold)
		p.stallHeldUntil.Store(now.Add(hold).UnixNano())
		sctx, cancel := context.WithTimeout(ctx, safeStateTimeout)
		if err := p.parts.Gate.SafeStateContext(sctx); err != nil {
			p.log.Error("safe state", "err", err)
		}
		cancel()
	case stalled <= ShowStallAfter && p.showStalled.Load():
		p.showStalled.Store(false)
		p.log.Info("the dreamscape plays again")
		p.post(uplink.Event{Type: "fault", Fields: map[string]any{"part": "dreamscape", "fault": "stalled", "active": false}}, time.Now())
	}
}

// SafeColor is the strip's 8-bit colour of the safe light c: each channel
// rounded, and a channel c lights rounded up to at least 1, so a dim safe
// light is never dark on the strip.
func SafeColor(c light.RGB) apa102.Color {
	c = c.Clamp()
	r, g, b := c.Bytes()
	up := func(v float64, x uint8) uint8 {
		if v > 0 && x == 0 {
			return 1
		}
		return x
	}
	return apa102.Color{R: up(c.R, r), G: up(c.G, g), B: up(c.B, b)}
}

// setSafe sets the strip's safe colour to c (SafeColor) when its 8-bit
// value changed.
func (sh *show) setSafe(c light.RGB) error {
	if sh.s.Strip == nil {
		return nil
	}
	col := SafeColor(c)
	if col == sh.safeShown {
		return nil
	}
	if err := sh.s.Strip.SetSafe(col); err != nil {
		return err
	}
	sh.safeShown = col
	return nil
}

func (sh *show) anyLit() bool {
	for _, l := range sh.lit {
		if l {
			return true
		}
	}
	return false
}

// announce posts one "guard" event when a guard begins limiting a zone or
// a place, and notes the ones whose episode ended.
func (sh *show) announce(now time.Duration, lights []light.RGB, haptics []float64) {
	nz := len(sh.strip)
	at := time.Now()
	limited := sh.limBuf[:0]
	for z := range nz {
		e, open := sh.lg.Open(z)
		if open {
			limited = append(limited, sh.names[z])
		}
		// An episode that opens while the guard fades from the safe light
		// is announced only if it is still open after the fade,
		// or at once if the program's request reverses across what is
		// shown (no fade does: a strobe).
		f := &sh.fade[z]
		inFade := now < sh.fadeUntil && !f.reversed
		if inFade && open && f.reverses(sh.req[z], lights[z]) {
			f.reversed, inFade = true, false
		}
		announce := open && !sh.announced[z] && !inFade
		sh.announced[z] = open && (sh.announced[z] || announce)
		if announce {
			sh.p.post(uplink.Event{Type: "guard", Fields: map[string]any{
				"guard": "light", "zone": sh.names[z], "limit": "slew", "max_slew": sh.lg.MaxSlew(),
				"requested": rgb(e.Requested), "shown": rgb(e.Shown),
				"requested_luminance": round3(e.Requested.Luminance()), "shown_luminance": round3(e.Shown.Luminance()),
			}}, at)
			sh.p.log.Warn("photosensitivity guard: limiting a light change", "zone", sh.names[z], "requested_luminance", round3(e.Requested.Luminance()), "shown_luminance", round3(e.Shown.Luminance()))
		}
		sh.lit[z] = open
	}
	for pl := range len(sh.lit) - nz {
		e, open := sh.hg.Open(pl)
		if open {
			limited = append(limited, sh.names[nz+pl])
		}
		if open && !sh.lit[nz+pl] {
			why := "cap"
			if e.Budget {
				why = "budget"
			}
			sh.p.post(uplink.Event{Type: "guard", Fields: map[string]any{
				"guard": "haptic", "place": sh.names[nz+pl], "limit": why,
				"requested": round3(e.Requested), "shown": round3(e.Shown),
			}}, at)
			sh.p.log.Warn("haptic guard: limiting a motor", "place", sh.names[nz+pl], "limit", why)
		}
		sh.lit[nz+pl] = open
	}
	// Ended episodes are taken so they do not merge with later ones.
	sh.lgEnded = sh.lg.Ended(now, sh.lgEnded[:0])
	if sh.hg != nil {
		sh.hgEnded = sh.hg.Ended(now, sh.hgEnded[:0])
	}
	sh.limBuf = limited
	sh.mu.Lock()
	if !slices.Equal(sh.status.Limited, limited) {
		sh.status.Limited = slices.Clone(limited)
	}
	sh.mu.Unlock()
}

func rgb(c light.RGB) []float64 { return []float64{round3(c.R), round3(c.G), round3(c.B)} }

func (sh *show) setStatus(playing bool, wake *float64, err error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.status.Playing, sh.status.Wake = playing, wake
	sh.status.WriteError = ""
	if err != nil {
		sh.status.WriteError = err.Error()
	}
	if !playing {
		sh.status.Limited = nil
	}
}

// Status reports what plays and how the player keeps time.
func (sh *show) Status() *ShowStatus {
	sh.mu.Lock()
	st := sh.status
	st.Zones, st.Places, st.Limited, st.Slowed = slices.Clone(st.Zones), slices.Clone(st.Places), slices.Clone(st.Limited), slices.Clone(st.Slowed)
	if st.Wake != nil {
		w := *st.Wake
		st.Wake = &w
	}
	sh.mu.Unlock()
	sh.test.mu.Lock()
	if sh.test.prog != nil && time.Now().Before(sh.test.until) {
		st.SelfTest = sh.test.what
	}
	sh.test.mu.Unlock()
	st.LastSelfTest = sh.lastTest()
	ps := sh.player.Stats()
	st.Frames, st.Skipped = ps.Frames, ps.Skipped
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	st.JitterP50, st.JitterP99, st.JitterMax = ms(ps.P50), ms(ps.P99), ms(ps.Max)
	return &st
}
