package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/uplink"
)

// States of the pod.
const (
	// StateStarting lasts until the store's latch is read: an abort an
	// earlier run latched may be there.
	StateStarting = "starting"
	StateIdle     = "idle"
	StateAborted  = "aborted"
)

// Oximeter is the pulse-oximeter driver as the pod uses it.
type Oximeter interface {
	ReadFIFO(dst []max30102.Sample) (n, lost int, err error)
	SampleRate() float64
	Halt() error
}

// Strip is the LED strip as the pod uses it.
type Strip interface {
	Write(pixels []apa102.Color) error
}

// Uplink is the city-facing side as the pod uses it (package uplink).
type Uplink interface {
	Run(ctx context.Context) error
	SetStatus(state string, since time.Time)
	// SetDegraded names, in the retained status, the parts not working.
	SetDegraded(parts []string)
	Telemetry(t uplink.Telemetry, at time.Time) (uint64, error)
	Event(e uplink.Event, at time.Time) (uint64, error)
	Connected() bool
	// Broker is the broker of the connection that is up, "" when none is.
	Broker() string
	// Duplicate is non-nil while another pod with this pod's id is online:
	// the uplink then publishes nothing as this pod (records are kept).
	Duplicate() error
	// Commands delivers the hub's commands (never retained ones).
	Commands() <-chan uplink.Inbound
	// MergeAborts delivers the merge-wide aborts of the merge named by
	// SetMergeSession ("" for none), on their own queue.
	MergeAborts() <-chan uplink.Inbound
	SetMergeSession(session string)
	// Reply journals the reply to a command.
	Reply(r uplink.Reply, at time.Time) (uint64, error)
}

// Store is the local store as the pod uses it (a journal.Slot: a store that
// may open later, or never). Until Ready is closed every call may fail.
type Store interface {
	Ready() <-chan struct{}
	SetLatch(b []byte) error
	Latch() ([]byte, bool, error)
	OutboxLen() (int, error)
	// VerifyAudit checks the audit log's chain (journal.Store.VerifyAudit).
	VerifyAudit() (journal.AuditReport, error)
}

// Config is what the pod needs to know about itself.
type Config struct {
	Pod, Boot, Version string
	Broker             string // the configured broker(s), for the status reply while none is connected
	Simulated          bool
	TelemetryInterval  time.Duration
	SensorPeriod       time.Duration // default 200 ms: 5 samples at 25 Hz, far below the 32-sample FIFO
	ReopenPeriod       time.Duration // default 1 s
	// SettleTime is how long every alarm condition must have been absent
	// (valid vitals within every limit, deadbands included) before the
	// outputs leave their safe state after a start or an acknowledgement;
	// default DefaultSettleTime.
	SettleTime time.Duration
	Limits     safety.Limits
	// TempCoreOffsetC is the core temperature less the thermometer's
	// reading at its site, °C (sensors.tmp117.core_offset_c): the
	// temperature rules judge the reading plus it.
	TempCoreOffsetC float64
	// Session tunes the merge sessions.
	Session SessionConfig
	// HubKeys are the keys the hub signs its commands with; nil: none, and
	// the pod accepts only merge/abort (which needs no signature).
	HubKeys *hubcmd.KeySet
	// ClockSynced reports whether the wall clock is synchronised: commands
	// with times are refused while it is not. nil: never.
	ClockSynced func() bool
	// Settings is the effective configuration, key by key
	// (configs.Config.Settings), reported at start in an audited "config"
	// event with Version; nil reports an empty one.
	Settings map[string]any
	// AmbientLight is what the strip shows while the pod is idle.
	// HistoryWindow is the span of one vitals point of the history
	// (Parts.History); default DefaultHistoryWindow.
	HistoryWindow time.Duration
	AmbientLight  apa102.Color
	LEDCount      int
	Logger        *slog.Logger
}

// DefaultSettleTime is the default Config.SettleTime: as long as the
// default alarm delays (safety.DefaultLimits), so a sleeper whose vitals
// would trip a rule never sees the light come back first.
const DefaultSettleTime = 10 * time.Second

// Parts are the pod's hardware and services. The pod does not own the
// hardware: the caller opens it before Run and closes it after.
type Parts struct {
	// OpenOximeter opens (and re-opens after a loss) the pulse oximeter.
	OpenOximeter func() (Oximeter, error)
	Strip        Strip
	// Gate holds every actuator; its SafeState is the watchdog's abort path.
	// It must be closed (in its safe state) when Run starts.
	Gate *actuators.Gate
	// Store is where the latch and the events go; the part that opens it is
	// one of Services.
	Store  Store
	Uplink Uplink
	// Services are the supervised parts, the store's opener among them
	// (the uplink is supervised too, and stopped after them).
	Services []Part
	// Notify sends sd_notify messages; nil disables them.
	Notify Notifier
	// HardwareWatchdog is pinged while the safety watchdog evaluates; nil if none.
	HardwareWatchdog Pinger
	// SimStatus reports the simulated outputs; nil on real hardware.
	SimStatus func() *SimStatus
	// Replay is the replay cache of the hub's commands: the store's
	// (journal.ReplayCache), so that a command accepted before a restart
	// is refused as replayed after it. While the store cannot answer it
	// fails, and every signed command but merge/abort is refused
	// replay_unchecked. nil: a hubcmd.MemoryReplayCache, which forgets at
	// a restart (for tests).
	Replay hubcmd.ReplayCache
	// ConsentButton and PanicButton are the sleeper's buttons; nil for
	// none. They run in the safety core: a press of the panic button
	// reaches the outputs' safe state whatever the other parts do.
	ConsentButton, PanicButton Button
	// AckButton is the acknowledgement button (package button with its
	// Opts.Hold, hardware.ack_hold); nil for none. A press acknowledges as
	// Ack does, source AckByButton, and is refused as any ack while an
	// alarm condition is present (logged: a button has no screen).
	AckButton Button
	// Show plays the dreamscape (or a steady ambient light) on the zones
	// and places, through the guards; nil: the strip shows
	// Config.AmbientLight whenever the outputs open, written once.
	Show *Show
	// History keeps the pod's night history (downsampled vitals and a copy
	// of every event stored) for the technician; nil keeps none. Nothing
	// waits on it: its appends never block (see history.go).
	History History
	// Sensors are the biometric sensors besides the pulse oximeter (the
	// EEG front end, the skin conductance ADC, the thermometer), each
	// kept read by its own sensing.Loop in the safety core, watched by
	// the safety watchdog (sensor_stale) and reported in telemetry.
	Sensors []sensing.Sensor
}

// Button is a push button as the pod uses it (package button): Run calls
// press once per press until ctx is done.
type Button interface {
	Run(ctx context.Context, press func()) error
}

// Pod is the running pod.
type Pod struct {
	cfg   Config
	parts Parts
	logs  *asyncLog
	log   *slog.Logger // through logs: no goroutine of the pod waits on a write
	wd    *safety.Watchdog

	aborts  chan safety.Abort
	acks    chan ackRequest
	wake    chan struct{}
	stopped chan struct{} // closed when Run stops
	queue   *eventQueue
	latest  latestReading

	counters counters // aborts and drops since the start (Status.Counts)

	partsState parts
	jitter     func() float64 // uniform in [0, 1), for the parts' backoff

	oximeter    *oximeter
	oxiLoop     *sensing.Loop   // the pulse oximeter's loop
	sensors     []*sensing.Loop // Parts.Sensors' loops
	sensorMu    sync.Mutex
	sensorEp    map[string]*sensorEpisode // per sensor, its fault episode (sensorChanged)
	sess        session
	sessionTurn checkin     // the session loop's turns (sessionLoop)
	ident       identifier  // the identify in progress (Identify)
	show        *show       // the show loop; nil without Parts.Show
	showStalled atomic.Bool // checkShow took the outputs back from a stalled show
	// stallHeldUntil (unix ns) keeps the outputs held after a stall;
	// stalls and lastStall count them (keepSafe's goroutine only).
	stallHeldUntil atomic.Int64
	stalls         int
	lastStall      time.Time
	sensorFault    atomic.Bool // the oximeter is in fault (reported by its loop)
	body           bodyVitals  // the other sensors' latest estimates

	abortPath       commandPath   // owned by the command loop
	cmdPath         commandPath   // owned by the command worker
	cmdsLetGo       atomic.Int64  // commands let go on the worker's full queue
	telemetryEvery  atomic.Int64  // the telemetry interval now, ns (SetTelemetryInterval)
	histWindow      historyWindow // the telemetry loop's only
	intervalChanged chan struct{} // signalled when it changes

	// Owned by the recorder goroutine.
	storeErr    error
	openFailing bool
	duplicate   bool
	// abortPosted is the latest abort whose event was put on the queue:
	// once the queue is stored, so is its event.
	abortPosted *safety.Abort

	mu      sync.Mutex
	latchSt latchState
	since   time.Time // of the current state
	started time.Time // when New made the pod: Status's uptime
	// heldUntil keeps the outputs in their safe state after a merge left
	// at once (panic, withdrawal, merge/abort): HoldMergeLeft.
	heldUntil time.Time
	state     string // last state reported, to detect transitions
	lastAck   *LastAck
}

// New builds a pod from its parts.
func New(cfg Config, parts Parts) (*Pod, error) {
	if cfg.TelemetryInterval <= 0 {
		return nil, errors.New("controller.New: telemetry interval must be positive")
	}
	if parts.OpenOximeter == nil || parts.Strip == nil || parts.Gate == nil || parts.Store == nil || parts.Uplink == nil {
		return nil, errors.New("controller.New: missing part")
	}
	if cfg.SensorPeriod <= 0 {
		cfg.SensorPeriod = 200 * time.Millisecond
	}
	if cfg.ReopenPeriod <= 0 {
		cfg.ReopenPeriod = time.Second
	}
	if cfg.SettleTime <= 0 {
		cfg.SettleTime = DefaultSettleTime
	}
	if cfg.HistoryWindow <= 0 {
		cfg.HistoryWindow = DefaultHistoryWindow
	}
	cfg.Session.resolve()
	if cfg.LEDCount <= 0 {
		cfg.LEDCount = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	logs := newAsyncLog()
	p := &Pod{
		cfg: cfg, parts: parts, logs: logs, log: slog.New(logs.handler(cfg.Logger.Handler())),
		aborts:  make(chan safety.Abort, 4),
		acks:    make(chan ackRequest),
		wake:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
		queue:   newEventQueue(maxUnstored),
		since:   time.Now(),
		jitter:  rand.Float64,
	}
	p.histWindow.every = cfg.HistoryWindow
	p.sessionTurn.start(p.since)
	p.started = p.since
	// One source for the state and its since: the retained status starts
	// with the controller's, and every change goes through setState.
	parts.Uplink.SetStatus(StateStarting, p.since)
	wd, err := safety.New(cfg.Limits, parts.Gate, safety.Options{OnAbort: p.onAbort, OnWarning: p.onWarning, CoreOffsetC: cfg.TempCoreOffsetC})
	if err != nil {
		return nil, fmt.Errorf("controller.New: %w", err)
	}
	p.wd = wd
	p.body.p = p
	p.oximeter = newOximeter(p)
	if p.oxiLoop, err = sensing.New(p.oximeter.sensor(cfg), nil); err != nil {
		return nil, fmt.Errorf("controller.New: %w", err)
	}
	watched := make([]safety.SensorWatch, 0, len(parts.Sensors))
	for _, s := range parts.Sensors {
		if s.SetEstimates != nil {
			s.SetEstimates(&p.body)
		}
		l, err := sensing.New(s, p.sensorChanged)
		if err != nil {
			return nil, fmt.Errorf("controller.New: %w", err)
		}
		p.sensors = append(p.sensors, l)
		watched = append(watched, l)
	}
	wd.WatchSensors(watched...)
	p.telemetryEvery.Store(int64(cfg.TelemetryInterval))
	p.intervalChanged = make(chan struct{}, 1)
	replay := parts.Replay
	if replay == nil {
		replay = hubcmd.NewMemoryReplayCache(0, time.Now)
	}
	for _, path := range []struct {
		c      *commandPath
		replay hubcmd.ReplayCache
	}{
		{&p.cmdPath, replay},
		// The aborts' path never waits for the disk (commandLoop).
		{&p.abortPath, hubcmd.NewMemoryReplayCache(0, time.Now)},
	} {
		v, err := hubcmd.NewVerifier(hubcmd.VerifierConfig{
			PodID: cfg.Pod, Keys: cfg.HubKeys,
			Replay:  path.replay,
			Session: p.sessionID,
		})
		if err != nil {
			return nil, fmt.Errorf("controller.New: %w", err)
		}
		path.c.verifier = v
	}
	if parts.Show != nil {
		if parts.Show.Outputs == nil {
			return nil, errors.New("controller.New: a show without outputs")
		}
		if p.show, err = newShow(p, parts.Show); err != nil {
			return nil, fmt.Errorf("controller.New: %w", err)
		}
	}
	return p, nil
}

// onAbort runs on the watchdog goroutine after the safe state was applied; it
// must not block. At most one abort is latched at a time, so the buffer never
// fills; if it ever did, the latch itself still holds the pod safe.
func (p *Pod) onAbort(a safety.Abort) {
	p.counters.abort(a.Rule)
	select {
	case p.aborts <- a:
	default:
		p.log.Error("abort not recorded: recorder is behind", "rule", a.Rule)
	}
}

// Bounds of the stop (see the package doc).
const (
	// safeStateTimeout bounds the wait for the outputs' safe state at
	// shutdown; an output still halting then is logged.
	safeStateTimeout = time.Second
	// stopGrace bounds the wait for the safety core, the recorder and the
	// supervised parts once the safe state is applied.
	stopGrace = 2 * time.Second
	// uplinkGrace bounds the wait for the uplink's goodbye (its own
	// StopTimeout, 1 s by default, plus the disconnect).
	uplinkGrace = 2 * time.Second
	// lateGrace bounds the wait for the parts stopped after the uplink.
	lateGrace = 500 * time.Millisecond
	// stopBudget is the most Run takes from the end of its context to its
	// return: well under systemd's TimeoutStopSec=10s, leaving the caller
	// time to close the store and the hardware watchdog.
	stopBudget = max(safeStateTimeout, stopGrace) + uplinkGrace + lateGrace
)

// Run runs the pod until ctx is done; no part's failure ends it. Then, first
// of all, it brings every actuator to its safe state; then it stops the
// safety core, lets the recorder store what the core last reported, stops
// the parts and then the uplink, which publishes "offline", each wait
// bounded (see the package doc).
func (p *Pod) Run(ctx context.Context) error {
	defer close(p.stopped)
	p.postConfig()
	logStop, logDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(logDone); p.logs.run(logStop) }()
	defer func() {
		close(logStop)
		select {
		case <-logDone:
		case <-time.After(2 * logFlush):
			// The writer is stuck in a write to a stalled stderr; the
			// process is exiting.
		}
	}()

	upCtx, upCancel := context.WithCancel(context.Background())
	defer upCancel()
	var lateStatus []*PartStatus // the parts stopped after the uplink
	upPart := Part{Name: "uplink", Run: func(ctx context.Context, up func()) error {
		p.partsState.awaitStarted(ctx, lateStatus)
		up()
		return p.parts.Uplink.Run(ctx)
	}}
	upStatus := p.partsState.add(upPart.Name)
	svcStatus := make([]*PartStatus, len(p.parts.Services))
	for i, s := range p.parts.Services {
		svcStatus[i] = p.partsState.add(s.Name)
		if s.AfterUplink {
			lateStatus = append(lateStatus, svcStatus[i])
		}
	}

	// The safety core first. The keepalive outlives it: it keeps the
	// hardware watchdog pinged through the bounded stop, until Run returns.
	var core sync.WaitGroup
	core.Go(func() { _ = p.wd.Run(ctx) })
	core.Go(func() {
		_ = p.oxiLoop.Run(ctx)
		p.oximeter.stop()
	})
	for _, l := range p.sensors {
		core.Go(func() { _ = l.Run(ctx) })
	}
	if len(p.sensors) > 0 {
		core.Go(func() { p.runSensorEpisodes(ctx) })
	}
	core.Go(func() { p.keepSafe(ctx) })
	if b := p.parts.PanicButton; b != nil {
		core.Go(func() { p.runButton(ctx, "panic", b, func() { p.Panic("button") }) })
	}
	if b := p.parts.ConsentButton; b != nil {
		core.Go(func() {
			p.runButton(ctx, "consent", b, func() {
				if _, err := p.GrantConsent("button", 0); err != nil {
					p.log.Error("consent button", "err", err)
				}
			})
		})
	}
	if b := p.parts.AckButton; b != nil {
		core.Go(func() { p.runButton(ctx, "ack", b, func() { p.pressAck(ctx) }) })
	}
	pingCtx, pingCancel := context.WithCancel(context.Background())
	pingDone := make(chan struct{})
	if p.parts.Notify != nil || p.parts.HardwareWatchdog != nil {
		go func() {
			defer close(pingDone)
			_ = runKeepalive(pingCtx, ctx.Done(), p.parts.Notify, p.parts.HardwareWatchdog, p.sinceCheckIn, p.log.Error)
		}()
	} else {
		close(pingDone)
	}
	defer func() { pingCancel(); <-pingDone }()

	// The shutdown's safe state does not wait for any part to stop.
	safeDone := make(chan struct{})
	go func() {
		defer close(safeDone)
		<-ctx.Done()
		p.parts.Gate.Seal()
		sctx, cancel := context.WithTimeout(context.Background(), safeStateTimeout)
		defer cancel()
		if err := p.parts.Gate.SafeStateContext(sctx); err != nil {
			p.log.Error("safe state at shutdown", "err", err)
		}
	}()

	// The recorder stops after the core, so an abort or a fault the core
	// reports as it stops is still stored.
	recCtx, recCancel := context.WithCancel(context.Background())
	defer recCancel()
	recDone := make(chan struct{})
	go func() { defer close(recDone); _ = p.recorder(recCtx) }()

	var parts sync.WaitGroup
	if p.show != nil {
		st := p.partsState.add("dreamscape")
		parts.Go(func() { p.supervise(ctx, Part{Name: "dreamscape", Run: p.show.run}, st) })
	}
	parts.Go(func() { _ = p.telemetryLoop(ctx) })
	parts.Go(func() { p.sessionLoop(ctx) })
	parts.Go(func() { p.commandLoop(ctx) })
	lateCtx, lateCancel := context.WithCancel(context.Background())
	defer lateCancel()
	var late sync.WaitGroup
	for i, s := range p.parts.Services {
		if s.AfterUplink {
			late.Go(func() { p.supervise(lateCtx, s, svcStatus[i]) })
			continue
		}
		parts.Go(func() { p.supervise(ctx, s, svcStatus[i]) })
	}
	upDone := make(chan struct{})
	go func() {
		defer close(upDone)
		p.supervise(upCtx, upPart, upStatus)
	}()

	<-ctx.Done()
	stopAt := time.Now()
	graceCtx, graceCancel := context.WithTimeout(context.Background(), stopGrace)
	defer graceCancel()
	var stuck []string
	if !waitFor(graceCtx, done(&core)) {
		stuck = append(stuck, "safety core")
	}
	recCancel()
	if !waitFor(graceCtx, recDone) {
		stuck = append(stuck, "recorder")
	}
	if !waitFor(graceCtx, done(&parts)) {
		stuck = append(stuck, "parts")
	}
	var errs []error
	if len(stuck) > 0 {
		errs = append(errs, fmt.Errorf("controller: parts still running %v after the stop began (%s); stopping without them", stopGrace, strings.Join(stuck, ", ")))
	}
	<-safeDone
	upCancel()
	upCtxWait, upWaitCancel := context.WithTimeout(context.Background(), uplinkGrace)
	defer upWaitCancel()
	if !waitFor(upCtxWait, upDone) {
		errs = append(errs, fmt.Errorf("controller: uplink still running %v after it was stopped; stopping without it", uplinkGrace))
	}
	lateCancel()
	lateWait, lateWaitCancel := context.WithTimeout(context.Background(), lateGrace)
	defer lateWaitCancel()
	if !waitFor(lateWait, done(&late)) {
		errs = append(errs, fmt.Errorf("controller: parts stopped after the uplink still running %v later; stopping without them", lateGrace))
	}
	p.log.Info("pod stopped", "took", time.Since(stopAt).Round(time.Millisecond))
	return errors.Join(errs...)
}

// done returns a channel closed once wg's goroutines have returned.
func done(wg *sync.WaitGroup) <-chan struct{} {
	c := make(chan struct{})
	go func() { wg.Wait(); close(c) }()
	return c
}

// waitFor reports whether c closed before ctx ended.
func waitFor(ctx context.Context, c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	case <-ctx.Done():
		return false
	}
}

// runButton runs a button until ctx is done. A button whose line fails is
// reported and tried again every ReopenPeriod: the panic button must come
// back by itself.
func (p *Pod) runButton(ctx context.Context, name string, b Button, press func()) {
	reported := false
	for {
		err := b.Run(ctx, func() {
			p.log.Info("button pressed", "button", name)
			press()
		})
		if ctx.Err() != nil {
			return
		}
		if !reported {
			// Once: a line that keeps failing is retried every
			// ReopenPeriod and would otherwise fill the store.
			reported = true
			p.log.Error("button stopped; retrying", "button", name, "err", err)
			p.post(uplink.Event{Type: "fault", Fields: map[string]any{"device": name + "_button", "active": true, "error": fmt.Sprint(err)}}, time.Now())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(p.cfg.ReopenPeriod):
		}
	}
}

// keepSafeRetry is how often the safety core applies the safe state again
// to an output whose last Halt failed.
const keepSafeRetry = time.Second

// keepSafe is part of the safety core: while the gate is closed, an output
// whose Halt failed (a transient bus error during an abort) may still show
// light or move, so its safe state is applied again every keepSafeRetry
// until every Halt has succeeded.
func (p *Pod) keepSafe(ctx context.Context) {
	t := time.NewTicker(keepSafeRetry)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.checkShow(ctx)
		if p.show != nil {
			p.show.indicate()
		}
		unsafe := p.parts.Gate.Unsafe()
		if len(unsafe) == 0 {
			if failing {
				p.log.Info("outputs in their safe state again")
			}
			failing = false
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, safeStateTimeout)
		err := p.parts.Gate.SafeStateContext(sctx)
		cancel()
		if err != nil && !failing {
			p.log.Error("outputs not in their safe state; retrying", "outputs", strings.Join(unsafe, ", "), "err", err)
		}
		failing = err != nil
	}
}

// setState records a state change and reports it.
func (p *Pod) setState(to string, at time.Time, reason string) {
	p.setStateWith(to, at, reason, nil)
}

// setStateWith records a state change and reports it with extra fields.
func (p *Pod) setStateWith(to string, at time.Time, reason string, extra map[string]any) {
	p.setStateSince(to, at, at, reason, extra)
}

// setStateSince records a state change that holds since since and reports
// it at at: they differ for a latch restored at a start, aborted since the
// abort. Status and the retained status both take since from here.
func (p *Pod) setStateSince(to string, since, at time.Time, reason string, extra map[string]any) {
	p.mu.Lock()
	from := p.state
	if from == to {
		p.mu.Unlock()
		return
	}
	p.state, p.since = to, since
	p.mu.Unlock()
	if from == "" {
		from = "offline"
	}
	p.parts.Uplink.SetStatus(to, since)
	fields := map[string]any{"from": from, "to": to, "reason": reason}
	for k, v := range extra {
		fields[k] = v
	}
	p.post(uplink.Event{Type: "state", Fields: fields}, at)
}

// State returns the pod's state and since when it holds. It is derived from
// the watchdog, so it reads "aborted" from the instant of the abort, before
// the recorder has reported it.
func (p *Pod) State() (string, time.Time) {
	if l := p.wd.Status().Latched; l != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.state == StateAborted {
			return StateAborted, p.since
		}
		return StateAborted, l.At
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == StateAborted { // acknowledged an instant ago, not yet reported
		return StateIdle, time.Now()
	}
	if p.state == "" {
		return StateStarting, p.since
	}
	return p.state, p.since
}

// Status implements api.Pod.
func (p *Pod) Status() Status {
	ws := p.wd.Status()
	state, since := p.State()
	ls := p.latch()
	latch := LatchNone
	switch {
	case !ls.known:
		latch = LatchUnknown
	case ws.Latched != nil && sameAbort(ws.Latched, ls.stored):
		latch = LatchStored
	case ws.Latched != nil:
		latch = LatchUnsaved
	}
	st := Status{
		Pod: p.cfg.Pod, Boot: p.cfg.Boot, Version: p.cfg.Version,
		State: state, Since: since, Simulated: p.cfg.Simulated, ClockSynced: p.clockSynced(),
		Session: p.sessionStatus(), Consent: p.Consent(),
		Safety: SafetyStatus{
			Level: ws.Level, Pending: ws.Pending, Armed: ws.Armed, Latched: ws.Latched, Latch: latch,
			SafeForS: round1(p.wd.SafeFor().Seconds()), LastAck: p.LastAck(),
		},
		Outputs: Outputs{Safe: p.parts.Gate.Safe(), Unsafe: p.parts.Gate.Unsafe()},
		Uplink:  UplinkStatus{Broker: cmp.Or(p.parts.Uplink.Broker(), p.cfg.Broker), Connected: p.parts.Uplink.Connected(), Outbox: -1, Unstored: p.queue.len()},
		Parts:   p.partsState.snapshot(),
		Sensors: []SensorStatus{sensorStatus(p.oxiLoop.Health())},
		Counts:  p.counts(),
		Loops:   p.loops(),
	}
	for _, l := range p.sensors {
		st.Sensors = append(st.Sensors, sensorStatus(l.Health()))
	}
	st.Started, st.UptimeS = p.started, round1(time.Since(p.started).Seconds())
	if ws.Latched != nil {
		if err := p.wd.CanAck(); err != nil && !errors.Is(err, safety.ErrNotLatched) {
			st.Safety.AckBlocked = strings.TrimPrefix(err.Error(), "safety: cannot acknowledge while ")
		}
	}
	lastLinkError(&st.Uplink, p.parts.Uplink)
	if st.Outputs.Safe {
		st.Outputs.Holds = p.holds()
	}
	st.Outputs.Safe = st.Outputs.Safe && len(st.Outputs.Unsafe) == 0
	if p.parts.SimStatus != nil {
		st.Sim = p.parts.SimStatus()
	}
	if p.show != nil {
		st.Show = p.show.Status()
	}
	if p.parts.History != nil {
		hs := p.parts.History.HistoryStats()
		st.History = &hs
	}
	if n, err := p.parts.Store.OutboxLen(); err == nil {
		st.Uplink.Outbox = n
	}
	if err := p.parts.Uplink.Duplicate(); err != nil {
		st.Uplink.Duplicate = err.Error()
	}
	hubStatus(&st.Uplink, p.parts.Uplink)
	st.Vitals.Contact = vitals.ContactUnknown.String()
	if r, ok := p.latest.Load(); ok {
		st.Vitals.Contact = r.Contact.String()
		if r.HeartRateValid {
			st.Vitals.HeartRateBPM = ptr(r.HeartRateBPM)
		}
		if r.SpO2Valid {
			st.Vitals.SpO2Pct = ptr(r.SpO2Pct)
		}
	}
	return st
}

func ptr(x float64) *float64 { return &x }

// degradedParts names the parts that have failed, or have been starting for
// partStartBound, in start order.
func (p *Pod) degradedParts() []string {
	var names []string
	for _, ps := range p.partsState.snapshot() {
		if ps.State == PartFailed || ps.State == PartStarting && time.Since(ps.Since) >= partStartBound {
			names = append(names, ps.Name)
		}
	}
	return names
}

// partStartBound is how long a part may stay "starting" before Healthy
// counts it as a problem.
const partStartBound = 30 * time.Second

// Healthy implements api.Health: nil while the safety watchdog is evaluating,
// every supervised part is up (or has been starting for less than
// partStartBound) and every output whose gate is closed is in its safe
// state; otherwise what is wrong, one problem per clause.
func (p *Pod) Healthy() error {
	var problems []string
	if age := p.wd.SinceEvaluation(); age >= stalledAfter {
		problems = append(problems, "safety watchdog has not evaluated for "+fmtAge(age))
	}
	if l, age := p.stuckLoop(); l != "" {
		problems = append(problems, fmt.Sprintf("the %s sensor loop has not turned for %s", l, fmtAge(age)))
	}
	if age, stuck := p.stuckSession(); stuck {
		problems = append(problems, "the session loop has not turned for "+fmtAge(age))
	}
	for _, ps := range p.partsState.snapshot() {
		switch {
		case ps.State == PartFailed:
			problems = append(problems, fmt.Sprintf("%s failed: %s", ps.Name, ps.Error))
		case ps.State == PartStarting && time.Since(ps.Since) >= partStartBound:
			// A part stuck starting (an open hanging on a dead SD card).
			problems = append(problems, fmt.Sprintf("%s not up after %v", ps.Name, time.Since(ps.Since).Round(time.Second)))
		}
	}
	if u := p.parts.Gate.Unsafe(); len(u) > 0 {
		problems = append(problems, "outputs not in their safe state: "+strings.Join(u, ", "))
	}
	if err := p.parts.Uplink.Duplicate(); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func fmtAge(d time.Duration) string {
	if d > 100*365*24*time.Hour {
		return "ever"
	}
	return d.Round(time.Millisecond).String()
}
