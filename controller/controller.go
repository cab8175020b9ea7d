package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/uplink"
)

// States of the pod.
const (
	StateIdle    = "idle"
	StateAborted = "aborted"
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
	Telemetry(t uplink.Telemetry, at time.Time) (uint64, error)
	Event(e uplink.Event, at time.Time) (uint64, error)
	Connected() bool
}

// Store is the local store as the pod uses it (package journal).
type Store interface {
	SetLatch(b []byte) error
	Latch() ([]byte, bool, error)
	ClearLatch() error
	OutboxLen() (int, error)
}

// Config is what the pod needs to know about itself.
type Config struct {
	Pod, Boot, Version string
	Broker             string // for the status reply only
	Simulated          bool
	TelemetryInterval  time.Duration
	SensorPeriod       time.Duration // default 200 ms: 5 samples at 25 Hz, far below the 32-sample FIFO
	ReopenPeriod       time.Duration // default 1 s
	Limits             safety.Limits
	// AmbientLight is what the strip shows while the pod is idle.
	AmbientLight apa102.Color
	LEDCount     int
	Logger       *slog.Logger
}

// Parts are the pod's hardware and services. The pod does not own them: the
// caller opens them before Run and closes them after it.
type Parts struct {
	// OpenOximeter opens (and re-opens after a loss) the pulse oximeter.
	OpenOximeter func() (Oximeter, error)
	Strip        Strip
	// Gate holds every actuator; its SafeState is the watchdog's abort path.
	// The pod opens it at start unless it is latched.
	Gate   *actuators.Gate
	Store  Store
	Uplink Uplink
	// Services run beside the pod and stop with it (the local API, simulated hardware).
	Services []func(ctx context.Context) error
	// Notify sends sd_notify messages; nil disables them.
	Notify Notifier
	// HardwareWatchdog is pinged while the safety watchdog evaluates; nil if none.
	HardwareWatchdog Pinger
	// SimStatus reports the simulated outputs; nil on real hardware.
	SimStatus func() *api.SimStatus
}

// Pod is the running pod.
type Pod struct {
	cfg   Config
	parts Parts
	log   *slog.Logger
	wd    *safety.Watchdog

	aborts  chan safety.Abort
	reports chan report // events from loops that must not wait on the store
	latest  atomic.Pointer[vitals.Reading]

	// latchMu orders the recorder's persisting and reporting of an abort
	// against Ack, so their events and status changes never interleave.
	latchMu  sync.Mutex
	recorded *safety.Abort // the latched abort once the store holds it
	unsaved  *safety.Abort // the latched abort the store refused; retried

	// reopenGen is 1 + the gate generation a reopen must be retried at, or 0.
	reopenGen atomic.Uint64

	mu    sync.Mutex
	since time.Time // of the current state
	state string    // last state reported, to detect transitions
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
	if cfg.LEDCount <= 0 {
		cfg.LEDCount = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pod{cfg: cfg, parts: parts, log: cfg.Logger, aborts: make(chan safety.Abort, 4), reports: make(chan report, reportBuffer)}
	wd, err := safety.New(cfg.Limits, parts.Gate, safety.Options{OnAbort: p.onAbort})
	if err != nil {
		return nil, fmt.Errorf("controller.New: %w", err)
	}
	p.wd = wd
	return p, nil
}

// onAbort runs on the watchdog goroutine after the safe state was applied; it
// must not block. At most one abort is latched at a time, so the buffer never
// fills; if it ever did, the latch itself still holds the pod safe.
func (p *Pod) onAbort(a safety.Abort) {
	select {
	case p.aborts <- a:
	default:
		p.log.Error("abort not recorded: recorder is behind", "rule", a.Rule)
	}
}

// Timeouts of the shutdown path.
const (
	// safeStateTimeout bounds the wait for the outputs' safe state at
	// shutdown; an output still halting then is logged.
	safeStateTimeout = 2 * time.Second
	// stopGrace is how long Run waits for its parts after the safe state. A
	// part stuck longer (an fsync on a dying SD card, a wedged bus) is left
	// behind: the process is exiting, and the offline status and the store's
	// close must still happen.
	stopGrace = 5 * time.Second
)

// Run runs the pod until ctx is done or a part fails. Then, first of all, it
// brings every actuator to its safe state; then it waits (a bounded time) for
// its parts and stops the uplink, which publishes "offline".
func (p *Pod) Run(ctx context.Context) error {
	state, reason := p.restore()

	upCtx, upCancel := context.WithCancel(context.Background())
	upDone := make(chan error, 1)
	go func() { upDone <- p.parts.Uplink.Run(upCtx) }()

	g, gctx := errgroup.WithContext(ctx)
	// The shutdown's safe state does not wait for any part to stop.
	safeDone := make(chan struct{})
	go func() {
		defer close(safeDone)
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), safeStateTimeout)
		defer cancel()
		if err := p.parts.Gate.SafeStateContext(sctx); err != nil {
			p.log.Error("safe state at shutdown", "err", err)
		}
	}()
	g.Go(func() error { return p.wd.Run(gctx) })
	g.Go(func() error { return p.sensorLoop(gctx) })
	g.Go(func() error {
		p.setState(state, time.Now(), reason)
		return p.recorder(gctx)
	})
	g.Go(func() error { return p.telemetryLoop(gctx) })
	for _, s := range p.parts.Services {
		g.Go(func() error { return s(gctx) })
	}
	if p.parts.Notify != nil || p.parts.HardwareWatchdog != nil {
		g.Go(func() error {
			return runKeepalive(gctx, p.parts.Notify, p.parts.HardwareWatchdog, p.wd.LastEvaluation, p.log.Error)
		})
	}
	waited := make(chan error, 1)
	go func() { waited <- g.Wait() }()

	<-gctx.Done()
	<-safeDone
	var err error
	select {
	case err = <-waited:
	case <-time.After(stopGrace):
		err = fmt.Errorf("controller: parts still running %v after the safe state; stopping without them", stopGrace)
	}
	upCancel()
	if uerr := <-upDone; uerr != nil && !errors.Is(uerr, context.Canceled) {
		p.log.Error("uplink", "err", uerr)
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// restore re-latches an abort stored by an earlier run, or lights the pod.
// It reads the store but reports nothing: reporting writes to the store and
// the uplink, which must not stand between start-up and a running watchdog.
// It returns the state to report once everything runs, and why.
func (p *Pod) restore() (state, reason string) {
	now := time.Now()
	b, ok, err := p.parts.Store.Latch()
	if err != nil {
		// An unreadable latch might be an abort: stay safe rather than guess.
		ok, b = true, nil
		p.log.Error("latched state unreadable", "err", err)
	}
	if !ok {
		p.mu.Lock()
		p.since = now
		p.mu.Unlock()
		p.reopen(p.parts.Gate.Generation())
		return StateIdle, "start"
	}
	var a safety.Abort
	if err := json.Unmarshal(b, &a); err != nil || a.Rule == "" {
		a = safety.Abort{Rule: "latch_unreadable", Detail: fmt.Sprintf("stored latch cannot be read: %q", b), At: now}
	}
	if err := p.wd.Restore(a); err != nil {
		p.log.Error("restore latch", "err", err)
	}
	p.latchMu.Lock()
	p.recorded = &a
	p.latchMu.Unlock()
	p.log.Warn("starting latched", "rule", a.Rule, "detail", a.Detail)
	return StateAborted, "latched before restart: " + a.Rule
}

// reopen opens the gate and shows the ambient light, unless a safe state was
// applied after gen was read (a new abort, the shutdown): then the outputs
// stay dark. If an output is still halting (its bus hung), the recorder
// retries until it has returned.
func (p *Pod) reopen(gen uint64) {
	err := p.parts.Gate.OpenSince(gen)
	switch {
	case err == nil:
		p.reopenGen.Store(0)
		p.light()
	case errors.Is(err, actuators.ErrSafeStateSince):
		p.reopenGen.Store(0)
	default:
		p.log.Error("outputs stay in safe state for now", "err", err)
		p.reopenGen.Store(gen + 1) // +1: generation 0 is a valid one
	}
}

// retryReopen reopens the outputs an earlier reopen could not.
func (p *Pod) retryReopen() {
	if g := p.reopenGen.Load(); g != 0 && p.wd.Status().Latched == nil {
		p.reopen(g - 1)
	}
}

// light shows the ambient light, unless the gate is closed.
func (p *Pod) light() {
	pixels := make([]apa102.Color, p.cfg.LEDCount)
	for i := range pixels {
		pixels[i] = p.cfg.AmbientLight
	}
	err := p.parts.Gate.Do(func() error { return p.parts.Strip.Write(pixels) })
	if err != nil && !errors.Is(err, actuators.ErrSafeState) {
		p.log.Warn("ambient light", "err", err)
	}
}

// setState records a state change and reports it.
func (p *Pod) setState(to string, at time.Time, reason string) {
	p.mu.Lock()
	from := p.state
	if from == to {
		p.mu.Unlock()
		return
	}
	p.state, p.since = to, at
	p.mu.Unlock()
	if from == "" {
		from = "offline"
	}
	p.parts.Uplink.SetStatus(to, at)
	p.event(uplink.Event{Type: "state", Fields: map[string]any{"from": from, "to": to, "reason": reason}}, at)
}

func (p *Pod) event(e uplink.Event, at time.Time) {
	if _, err := p.parts.Uplink.Event(e, at); err != nil {
		p.log.Error("event not recorded", "type", e.Type, "err", err)
	}
}

// reportBuffer is how many events the loops may hand the recorder ahead of
// the store; past it (a store stuck for many seconds) events are logged and
// dropped rather than waited for.
const reportBuffer = 64

// saveRetry is how often the recorder retries storing a latch the store refused.
const saveRetry = time.Second

// report is an event handed to the recorder.
type report struct {
	e  uplink.Event
	at time.Time
}

// post hands an event to the recorder without waiting.
func (p *Pod) post(e uplink.Event, at time.Time) {
	select {
	case p.reports <- report{e, at}:
	default:
		p.log.Error("event dropped: the store is not keeping up", "type", e.Type, "fields", e.Fields)
	}
}

// recorder persists and reports aborts, retries a latch the store refused,
// and records the events the loops post.
func (p *Pod) recorder(ctx context.Context) error {
	retry := time.NewTicker(saveRetry)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case a := <-p.aborts:
			p.record(a)
		case r := <-p.reports:
			p.event(r.e, r.at)
		case <-retry.C:
			p.retrySave()
			p.retryReopen()
		}
	}
}

// record stores the latch, then reports the abort and the state change,
// all under latchMu so an Ack cannot interleave with them.
func (p *Pod) record(a safety.Abort) {
	p.latchMu.Lock()
	defer p.latchMu.Unlock()
	if err := p.saveLocked(a); err != nil {
		// The pod stays latched in memory and safe; the recorder retries.
		p.log.Error("abort latch not persisted; retrying", "rule", a.Rule, "err", err)
		p.unsaved = &a
	}
	p.log.Error("ABORT", "rule", a.Rule, "detail", a.Detail, "latency_ms", a.LatencyMS)
	fields := map[string]any{
		"rule": a.Rule, "detail": a.Detail, "values": a.Values, "limit": a.Limit,
		"detected_at": a.At.UTC().Format(time.RFC3339Nano), "latency_ms": a.LatencyMS,
	}
	if a.SafeStateError != "" {
		fields["safe_state_error"] = a.SafeStateError
	}
	p.event(uplink.Event{Type: "abort", Fields: fields}, a.At)
	p.setState(StateAborted, a.At, a.Rule)
}

func (p *Pod) saveLocked(a safety.Abort) error {
	b, err := json.Marshal(a)
	if err == nil {
		err = p.parts.Store.SetLatch(b)
	}
	if err != nil {
		return err
	}
	p.recorded, p.unsaved = &a, nil
	return nil
}

// retrySave stores a latch the store refused, while it is still latched.
func (p *Pod) retrySave() {
	p.latchMu.Lock()
	defer p.latchMu.Unlock()
	a := p.unsaved
	if a == nil {
		return
	}
	if l := p.wd.Status().Latched; l == nil || l.Rule != a.Rule || !l.At.Equal(a.At) {
		p.unsaved = nil
		return
	}
	if err := p.saveLocked(*a); err == nil {
		p.log.Info("abort latch persisted", "rule", a.Rule)
	}
}

// Ack clears the latched abort on a local acknowledgement.
func (p *Pod) Ack(ctx context.Context) (safety.Abort, error) {
	p.latchMu.Lock()
	defer p.latchMu.Unlock()
	// Read before anything is cleared: a safe state applied after this (a new
	// abort, the shutdown) keeps the outputs dark.
	gen := p.parts.Gate.Generation()
	st := p.wd.Status()
	if st.Latched == nil {
		return safety.Abort{}, fmt.Errorf("%w: no latched abort", api.ErrRefused)
	}
	a := *st.Latched
	if p.recorded == nil || p.recorded.Rule != a.Rule || !p.recorded.At.Equal(a.At) {
		return safety.Abort{}, fmt.Errorf("%w: the abort is not recorded yet; try again", api.ErrRefused)
	}
	if err := p.wd.CanAck(); err != nil {
		return safety.Abort{}, fmt.Errorf("%w: %v", api.ErrRefused, err)
	}
	if err := p.parts.Store.ClearLatch(); err != nil {
		return safety.Abort{}, fmt.Errorf("controller: ack: %w", err)
	}
	if err := p.wd.Ack(a); err != nil {
		// A condition came back between the checks: keep the latch stored.
		if b, merr := json.Marshal(a); merr != nil {
			p.log.Error("re-store latch", "err", merr)
		} else if serr := p.parts.Store.SetLatch(b); serr != nil {
			p.log.Error("re-store latch", "err", serr)
		}
		return safety.Abort{}, fmt.Errorf("%w: %v", api.ErrRefused, err)
	}
	p.recorded = nil
	p.reopen(gen)
	now := time.Now()
	p.log.Info("abort acknowledged locally", "rule", a.Rule)
	p.setState(StateIdle, now, "acknowledged locally: "+a.Rule)
	return a, nil
}

// State returns the pod's state and since when it holds. It is derived from
// the watchdog, so it reads "aborted" from the instant of the abort, before
// the recorder has reported it.
func (p *Pod) State() (string, time.Time) {
	if l := p.wd.Status().Latched; l != nil {
		return StateAborted, l.At
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state {
	case "": // starting, not yet reported
		return StateIdle, p.since
	case StateAborted: // acknowledged an instant ago, not yet reported
		return StateIdle, time.Now()
	}
	return p.state, p.since
}

// Status implements api.Pod.
func (p *Pod) Status() api.Status {
	ws := p.wd.Status()
	state, since := p.State()
	st := api.Status{
		Pod: p.cfg.Pod, Boot: p.cfg.Boot, Version: p.cfg.Version,
		State: state, Since: since, Simulated: p.cfg.Simulated,
		Safety: api.SafetyStatus{Level: ws.Level, Pending: ws.Pending, Latched: ws.Latched},
		Uplink: api.UplinkStatus{Broker: p.cfg.Broker, Connected: p.parts.Uplink.Connected()},
	}
	if p.parts.SimStatus != nil {
		st.Sim = p.parts.SimStatus()
	}
	if n, err := p.parts.Store.OutboxLen(); err == nil {
		st.Uplink.Outbox = n
	}
	if r := p.latest.Load(); r != nil {
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

// Healthy implements api.Health: the pod is healthy while its safety
// watchdog is evaluating.
func (p *Pod) Healthy() error {
	last := p.wd.LastEvaluation()
	if age := time.Since(last); last.IsZero() || age >= stalledAfter {
		return fmt.Errorf("safety watchdog has not evaluated for %v", age.Round(time.Millisecond))
	}
	return nil
}
