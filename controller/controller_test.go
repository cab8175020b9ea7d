package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/button"
	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sim"
	"github.com/sleegation/podd/sim/scenario"
	"github.com/sleegation/podd/uplink"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// journalLog is a shared, ordered log of what the fakes saw, so tests can
// check the order of the shutdown path.
type journalLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *journalLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *journalLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// fakeUplink records what the pod reports instead of sending it.
type fakeUplink struct {
	log   *journalLog
	stuck chan struct{} // when set, Event hangs until it is closed
	disk  *disk         // when set and failing, Event and Telemetry fail as a full disk makes them
	times []time.Time   // of each event, as given
	// latch is the store whose latch an event with ClearLatch deletes, in
	// one step with storing the event (the journal's one transaction).
	latch *memStore
	// duplicate is what Duplicate reports (under mu).
	duplicate error
	// connected is what Connected reports.
	connected atomic.Bool
	cmds      chan uplink.Inbound // under mu
	aborts    chan uplink.Inbound // under mu
	session   string              // the last SetMergeSession, under mu
	replies   []uplink.Reply      // under mu
	degraded  []string            // the last SetDegraded

	mu        sync.Mutex
	statuses  []string
	sinces    []time.Time // of each status, as given
	events    []uplink.Event
	telemetry []uplink.Telemetry
}

func (u *fakeUplink) Run(ctx context.Context) error {
	<-ctx.Done()
	u.log.add("uplink offline")
	return nil
}

func (u *fakeUplink) SetStatus(state string, since time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.statuses = append(u.statuses, state)
	u.sinces = append(u.sinces, since)
}

func (u *fakeUplink) Telemetry(t uplink.Telemetry, _ time.Time) (uint64, error) {
	if err := u.disk.err(); err != nil {
		return 0, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.telemetry = append(u.telemetry, t)
	return uint64(len(u.telemetry)), nil
}

func (u *fakeUplink) Event(e uplink.Event, at time.Time) (uint64, error) {
	if u.stuck != nil {
		<-u.stuck
	}
	if e.ClearLatch {
		if u.latch == nil {
			return 0, errors.New("fakeUplink: no store to clear the latch of")
		}
		var n uint64
		err := u.latch.clearWith(func() { n = u.record(e, at) })
		return n, err
	}
	if err := u.disk.err(); err != nil {
		return 0, err
	}
	return u.record(e, at), nil
}

func (u *fakeUplink) record(e uplink.Event, at time.Time) uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.events = append(u.events, e)
	u.times = append(u.times, at)
	return uint64(len(u.events))
}

func (u *fakeUplink) Connected() bool { return u.connected.Load() }

// Commands delivers what the test puts on cmds (made on first use).
func (u *fakeUplink) Commands() <-chan uplink.Inbound {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.cmds == nil {
		u.cmds = make(chan uplink.Inbound, 16)
	}
	return u.cmds
}

// MergeAborts delivers what the test puts on aborts (made on first use).
func (u *fakeUplink) MergeAborts() <-chan uplink.Inbound {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.aborts == nil {
		u.aborts = make(chan uplink.Inbound, 4)
	}
	return u.aborts
}

func (u *fakeUplink) SetMergeSession(s string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.session = s
}

func (u *fakeUplink) Reply(r uplink.Reply, _ time.Time) (uint64, error) {
	if err := u.disk.err(); err != nil {
		return 0, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.replies = append(u.replies, r)
	return uint64(len(u.replies)), nil
}

func (u *fakeUplink) Replies() []uplink.Reply {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]uplink.Reply(nil), u.replies...)
}

func (u *fakeUplink) Broker() string { return "" }

func (u *fakeUplink) SetDegraded(parts []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.degraded = parts
}

func (u *fakeUplink) Duplicate() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.duplicate
}

func (u *fakeUplink) Events(typ string) []uplink.Event {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []uplink.Event
	for _, e := range u.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func (u *fakeUplink) telemetrySnapshot() []uplink.Telemetry {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]uplink.Telemetry(nil), u.telemetry...)
}

func (u *fakeUplink) LastTelemetry() uplink.Telemetry {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.telemetry[len(u.telemetry)-1]
}

// disk makes every write of a memStore and a fakeUplink fail while failing
// is set, as a full or read-only disk does. A nil *disk never fails.
type disk struct {
	mu      sync.Mutex
	failing error
}

func (d *disk) err() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.failing
}

func (d *disk) fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failing = err
}

// memStore is the latch part of the journal, in memory, with an injectable failure.
type memStore struct {
	ready    chan struct{} // when set, the store opens when it is closed; otherwise at once
	disk     *disk
	mu       sync.Mutex
	latch    []byte
	setErr   error
	clearErr error
	stuck    chan struct{} // when set, SetLatch hangs until it is closed, as a dead SD card would

	clearStuck chan struct{} // when set, ClearLatch hangs until it is closed
}

var opened = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (s *memStore) Ready() <-chan struct{} {
	if s.ready != nil {
		return s.ready
	}
	return opened
}

func (s *memStore) SetLatch(b []byte) error {
	if s.stuck != nil {
		<-s.stuck
	}
	if err := s.disk.err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.setErr != nil {
		return s.setErr
	}
	s.latch = append([]byte(nil), b...)
	return nil
}

func (s *memStore) Latch() ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latch, s.latch != nil, nil
}

func (s *memStore) ClearLatch() error { return s.clearWith(func() {}) }

// clearWith deletes the latch and runs also, as one transaction: either
// both happen or neither (clearStuck, the disk and clearErr as ClearLatch).
func (s *memStore) clearWith(also func()) error {
	s.mu.Lock()
	stuck := s.clearStuck
	s.mu.Unlock()
	if stuck != nil {
		<-stuck
	}
	if err := s.disk.err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clearErr != nil {
		return s.clearErr
	}
	s.latch = nil
	also()
	return nil
}

func (s *memStore) OutboxLen() (int, error) { return 0, nil }

// VerifyAudit: a memStore keeps no audit log; its report is empty.
func (s *memStore) VerifyAudit() (journal.AuditReport, error) { return journal.AuditReport{}, nil }

// loggedStrip records halts in the shared log.
type loggedStrip struct {
	*apa102.Dev
	log  *journalLog
	hang *haltHang
}

func (s loggedStrip) Halt() error {
	if s.hang != nil && s.hang.armed.Load() {
		<-s.hang.release
	}
	s.log.add("strip halt")
	return s.Dev.Halt()
}

type rig struct {
	t     *testing.T
	pod   *Pod
	hw    *sim.Hardware
	up    *fakeUplink
	store *memStore
	log   *journalLog

	cancel context.CancelFunc
	done   chan error
}

const ledCount = 8

func newRig(t *testing.T, scenarioYAML string, store *memStore) *rig {
	t.Helper()
	return newRigWith(t, scenarioYAML, store, rigOpts{})
}

// rigOpts make parts of a rig misbehave.
type rigOpts struct {
	up        *fakeUplink             // default: a fakeUplink that records
	wrap      func(Oximeter) Oximeter // wraps the oximeter
	hang      *haltHang               // makes the strip's Halt hang
	services  []Part                  // supervised parts besides the simulator
	logger    *slog.Logger
	hubKeys   *hubcmd.KeySet     // the hub's keys; nil: none
	uplink    Uplink             // the pod's uplink when not up itself (up wrapped)
	unsynced  bool               // the wall clock is not synchronised
	swapRedIR bool               // the oximeter opened with max30102.Opts.SwapRedIR (the simulated board is not)
	replay    hubcmd.ReplayCache // the replay cache; nil: the memory one
	store     Store              // the pod's store in place of the memStore
	sensors   []sensing.Sensor   // the biometric sensors besides the oximeter
	// simSensors are chips of the simulated pod (chipEEG, chipSkin,
	// chipThermo) read as cmd/podd reads them, after sensors.
	simSensors []string
	// scenarioFile is the scenario's file, read in place of the YAML
	// given (its playback's files resolve against it).
	scenarioFile string
	// safe is the strip's safe colour (apa102.Opts.Safe); show, when set,
	// builds the pod's show on the rig's strip.
	safe apa102.Color
	show func(strip *apa102.Dev, hw *sim.Hardware) *Show
	// outputs are the show's outputs besides the strip, put in the gate
	// with it (as cmd/podd does).
	outputs []actuators.Haltable
	// history is the pod's history (Parts.History); keepHistory has
	// journalRig use its slot for it.
	history     History
	keepHistory bool
	journal     *journal.Options // journalRig's store's options
}

// haltHang makes Halt hang, once armed, until release is closed, as a
// driver waiting on a wedged bus would.
type haltHang struct {
	armed   atomic.Bool
	release chan struct{}
}

func newRigWith(t *testing.T, scenarioYAML string, store *memStore, opts rigOpts) *rig {
	t.Helper()
	up, wrap := opts.up, opts.wrap
	if up == nil {
		up = &fakeUplink{}
	}
	if up.latch == nil {
		up.latch = store
	}
	sc, err := scenario.Parse([]byte(scenarioYAML))
	if opts.scenarioFile != "" {
		sc, err = scenario.Load(opts.scenarioFile)
	}
	if err != nil {
		t.Fatal(err)
	}
	hw, err := sim.NewHardware(sc, ledCount, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sensors := append(opts.sensors[:len(opts.sensors):len(opts.sensors)], simSensors(t, hw, opts.simSensors)...)
	strip, err := apa102.New(hw.SPI, &apa102.Opts{NumPixels: ledCount, Speed: apa102.DefaultOpts.Speed, Safe: opts.safe})
	if err != nil {
		t.Fatal(err)
	}
	var show *Show
	if opts.show != nil {
		show = opts.show(strip, hw)
	}
	log := &journalLog{}
	ls := loggedStrip{Dev: strip, log: log, hang: opts.hang}
	gate := actuators.NewGate(append([]actuators.Haltable{ls}, opts.outputs...)...)
	// cmd/podd applies the safe state before Run.
	if err := gate.SafeState(); err != nil {
		t.Fatal(err)
	}
	up.log = log
	consent, err := button.New(hw.ConsentLine, nil)
	if err != nil {
		t.Fatal(err)
	}
	panicB, err := button.New(hw.PanicLine, nil)
	if err != nil {
		t.Fatal(err)
	}
	ackOpts := button.DefaultOpts
	ackOpts.Hold = DefaultAckHold
	ackB, err := button.New(hw.AckLine, &ackOpts)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, hw: hw, up: up, store: store, log: log, done: make(chan error, 1)}
	pod, err := New(Config{
		Pod: "pod-1", Boot: "b", Version: "test", Simulated: true,
		TelemetryInterval: time.Second,
		Limits:            safety.DefaultLimits(),
		AmbientLight:      apa102.Color{R: 40, G: 18, B: 4},
		LEDCount:          ledCount,
		Logger:            opts.logger,
		HubKeys:           opts.hubKeys,
		ClockSynced:       func() bool { return !opts.unsynced },
	}, Parts{
		OpenOximeter: func() (Oximeter, error) {
			o := max30102.DefaultOpts
			o.SwapRedIR = opts.swapRedIR
			d, err := max30102.New(hw.I2C, &o)
			if err != nil {
				return nil, err
			}
			if wrap != nil {
				return wrap(d), nil
			}
			return d, nil
		},
		Strip:         ls,
		Show:          show,
		Gate:          gate,
		ConsentButton: consent,
		PanicButton:   panicB,
		AckButton:     ackB,
		Store:         r.storeOr(opts.store),
		Replay:        opts.replay,
		Uplink:        r.uplink(opts.uplink),
		Sensors:       sensors,
		History:       opts.history,
		Services: append([]Part{{Name: "sim", Run: func(ctx context.Context, up func()) error {
			up()
			return hw.Run(ctx)
		}}}, opts.services...),
	})
	if err != nil {
		t.Fatal(err)
	}
	r.pod = pod
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- pod.Run(ctx) }()
	return r
}

// storeOr is the pod's store: s when set, the rig's memStore otherwise.
func (r *rig) storeOr(s Store) Store {
	if s != nil {
		return s
	}
	return r.store
}

// uplink is the pod's uplink: wrapped when the rig was given one, the fake
// itself otherwise.
func (r *rig) uplink(wrapped Uplink) Uplink {
	if wrapped != nil {
		return wrapped
	}
	return r.up
}

func (r *rig) stop() {
	r.t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		r.t.Fatalf("Run: %v", err)
	}
}

// until advances fake time to d after the scenario's start.
func until(start time.Time, d time.Duration) {
	time.Sleep(time.Until(start.Add(d)))
	synctest.Wait()
}

func stateEvents(u *fakeUplink) []string {
	var out []string
	for _, e := range u.Events("state") {
		out = append(out, e.Fields["from"].(string)+">"+e.Fields["to"].(string))
	}
	return out
}

const tachycardia = `
name: test-tachycardia
baseline: {heart_rate_bpm: 62, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.6}
timeline:
  - {at: 20s, ramp: 30s, set: {heart_rate_bpm: 150}}
  - {at: 80s, ramp: 30s, set: {heart_rate_bpm: 64}}
`

func TestTachycardiaAbortsLatchesAndAcksOnceSafe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, tachycardia, &memStore{})
		defer r.stop()

		until(start, 18*time.Second)
		if st := r.pod.Status(); st.State != StateIdle || st.Safety.Level != safety.LevelOK || st.Vitals.HeartRateBPM == nil {
			t.Fatalf("status before the episode = %+v", st)
		}
		if hr := *r.pod.Status().Vitals.HeartRateBPM; hr < 60 || hr > 64 {
			t.Fatalf("heart rate before the episode = %.1f, want 62 ± 2", hr)
		}
		if r.hw.Strip.Dark() {
			t.Fatal("the strip is dark while the pod is idle; want the ambient light")
		}

		until(start, 70*time.Second)
		aborts := r.up.Events("abort")
		if len(aborts) != 1 || aborts[0].Fields["rule"] != safety.RuleHeartRateHigh {
			t.Fatalf("abort events = %+v, want one heart_rate_high", aborts)
		}
		a := r.pod.Status().Safety.Latched
		if a == nil {
			t.Fatal("no latched abort")
		}
		// The HR crosses 130 at 43.2 s; the estimator lags by up to its window.
		if d := a.At.Sub(start); d < 53*time.Second || d > 62*time.Second {
			t.Errorf("abort detected %s after start, want 10 s after the estimate crossed 130", d)
		}
		if !r.hw.Strip.Dark() {
			t.Fatal("the strip is not dark after the abort")
		}
		if st := r.pod.Status(); st.State != StateAborted {
			t.Fatalf("state = %s, want aborted", st.State)
		}
		var stored safety.Abort
		if b, ok, _ := r.store.Latch(); !ok || json.Unmarshal(b, &stored) != nil || stored.Rule != safety.RuleHeartRateHigh || !stored.At.Equal(a.At) {
			t.Fatalf("stored latch = %s, want the abort", b)
		}
		if tm := r.up.LastTelemetry(); tm.State != StateAborted || tm.Safety != safety.LevelAbort {
			t.Fatalf("telemetry after abort = %+v", tm)
		}

		_, err := r.pod.Ack(context.Background(), techAck)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "heart_rate_bpm") {
			t.Fatalf("Ack while the heart rate is high = %v, want a refusal naming it", err)
		}

		until(start, 125*time.Second)
		cleared, err := r.pod.Ack(context.Background(), techAck)
		if err != nil || cleared.Rule != safety.RuleHeartRateHigh {
			t.Fatalf("Ack once safe = %+v, %v", cleared, err)
		}
		if _, ok, _ := r.store.Latch(); ok {
			t.Fatal("the stored latch survived the ack")
		}
		if st := r.pod.Status(); st.State != StateIdle || st.Safety.Level != safety.LevelOK {
			t.Fatalf("status after ack = %+v", st)
		}
		// The light comes back once the vitals have stayed within every
		// limit for the settling time, counted from the ack.
		if st := r.pod.Status(); !r.hw.Strip.Dark() || strings.Join(st.Outputs.Holds, ",") != HoldSettling {
			t.Fatalf("outputs right after the ack = %+v, dark %v; want held dark for settling", st.Outputs, r.hw.Strip.Dark())
		}
		time.Sleep(DefaultSettleTime + time.Second)
		synctest.Wait()
		if r.hw.Strip.Dark() {
			t.Fatal("the ambient light did not come back after the ack")
		}
		want := []string{"offline>idle", "idle>aborted", "aborted>idle"}
		if got := stateEvents(r.up); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("state events = %v, want %v", got, want)
		}
	})
}

func TestStoredLatchSurvivesARestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		stored := safety.Abort{Rule: safety.RuleSpO2Low, Detail: "spo2_pct 84.0 below 90", At: start.Add(-time.Hour)}
		b, _ := json.Marshal(stored)
		r := newRig(t, tachycardia, &memStore{latch: b})
		defer r.stop()

		until(start, 15*time.Second)
		st := r.pod.Status()
		if st.State != StateAborted || st.Safety.Latched == nil || st.Safety.Latched.Rule != safety.RuleSpO2Low {
			t.Fatalf("status after restart = %+v, want aborted on spo2_low", st)
		}
		if !r.hw.Strip.Dark() {
			t.Fatal("the strip lit up while latched")
		}
		if got := r.up.Events("abort"); len(got) != 0 {
			t.Fatalf("the stored abort was reported again: %+v", got)
		}
		if got := stateEvents(r.up); len(got) != 1 || got[0] != "offline>aborted" {
			t.Fatalf("state events = %v", got)
		}
		// Vitals are normal (62 bpm, 97 %): a local ack clears the latch.
		if _, err := r.pod.Ack(context.Background(), techAck); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		time.Sleep(DefaultSettleTime + time.Second)
		synctest.Wait()
		if r.hw.Strip.Dark() {
			t.Fatal("no ambient light after the ack")
		}
	})
}

func TestCorruptStoredLatchStartsAborted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, tachycardia, &memStore{latch: []byte("{not json")})
		defer r.stop()
		synctest.Wait()
		st := r.pod.Status()
		if st.State != StateAborted || st.Safety.Latched.Rule != "latch_unreadable" {
			t.Fatalf("status = %+v, want aborted on latch_unreadable", st)
		}
	})
}

const sensorLoss = `
name: test-sensor-loss
baseline: {heart_rate_bpm: 62, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.6}
timeline:
  - {at: 20s, fault: {device: max30102, kind: disconnect, for: 20s}}
`

func TestSensorLossAbortsOnStaleVitals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, sensorLoss, &memStore{})
		defer r.stop()

		until(start, 24*time.Second)
		faults := r.up.Events("fault")
		if len(faults) != 1 || faults[0].Fields["active"] != true || faults[0].Fields["device"] != "max30102" {
			t.Fatalf("fault events = %+v, want one active max30102 fault", faults)
		}
		if got := r.up.Events("abort"); len(got) != 0 {
			t.Fatalf("aborted within stale_after: %+v", got)
		}
		until(start, 26*time.Second)
		aborts := r.up.Events("abort")
		if len(aborts) != 1 || aborts[0].Fields["rule"] != safety.RuleVitalsStale {
			t.Fatalf("abort events = %+v, want vitals_stale", aborts)
		}
		if !r.hw.Strip.Dark() {
			t.Fatal("strip not dark")
		}
		until(start, 45*time.Second)
		faults = r.up.Events("fault")
		if len(faults) != 2 || faults[1].Fields["active"] != false {
			t.Fatalf("fault events = %+v, want the recovery reported", faults)
		}
		if st := r.pod.Status(); st.State != StateAborted {
			t.Fatalf("the recovery cleared the latch: %+v", st)
		}
	})
}

func TestShutdownSafeStateBeforeOffline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, tachycardia, &memStore{})
		time.Sleep(5 * time.Second)
		r.stop()
		if !r.hw.Strip.Dark() {
			t.Fatal("strip lit after shutdown")
		}
		got := r.log.all()
		if len(got) < 2 || got[len(got)-2] != "strip halt" || got[len(got)-1] != "uplink offline" {
			t.Fatalf("shutdown order = %v, want strip halt then uplink offline", got)
		}
	})
}

func TestUnpersistedAbortCannotBeAcked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := &memStore{setErr: errors.New("journal: disk full")}
		r := newRig(t, tachycardia, store)
		defer r.stop()
		until(start, 70*time.Second)
		if st := r.pod.Status(); st.State != StateAborted || !r.hw.Strip.Dark() {
			t.Fatalf("a failing disk changed the abort: %+v", st)
		}
		if got := r.up.Events("abort"); len(got) != 1 {
			t.Fatalf("abort events = %d, want the abort reported even unpersisted", len(got))
		}
		until(start, 125*time.Second)
		if _, err := r.pod.Ack(context.Background(), techAck); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "not stored yet") {
			t.Fatalf("Ack of an unpersisted latch = %v, want refused", err)
		}
	})
}

func TestAckFailsCleanlyWhenTheStoreFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := &memStore{}
		r := newRig(t, tachycardia, store)
		defer r.stop()
		until(start, 125*time.Second)
		store.mu.Lock()
		store.clearErr = errors.New("journal: read-only file system")
		store.mu.Unlock()
		if _, err := r.pod.Ack(context.Background(), techAck); err == nil || errors.Is(err, ErrRefused) {
			t.Fatalf("Ack with a failing store = %v, want a failure", err)
		}
		if st := r.pod.Status(); st.State != StateAborted || !r.hw.Strip.Dark() {
			t.Fatalf("a failed ack changed the pod: %+v", st)
		}
	})
}

type countingPinger struct {
	mu    sync.Mutex
	pings int
}

func (c *countingPinger) Ping() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pings++
	return nil
}

func TestKeepalivePingsOnlyWhileTheWatchdogEvaluates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var sent []string
		notify := func(s string) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, s)
			return true, nil
		}
		// The watchdog evaluates until 3.5 s, then stalls.
		stall := time.Now().Add(3500 * time.Millisecond)
		sinceEval := func() time.Duration {
			if now := time.Now(); now.Before(stall) {
				return 0
			}
			return time.Since(stall)
		}
		hw := &countingPinger{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- keepaliveLoop(ctx, nil, notify, hw, sinceEval, 2*time.Second, t.Logf) }()
		// Pings at 1, 2, 3 and 4 s (stalled for 0.5 s only), none at 5 and 6 s.
		time.Sleep(6500 * time.Millisecond)
		synctest.Wait()
		cancel()
		<-done
		want := "READY=1 WATCHDOG=1 WATCHDOG=1 WATCHDOG=1 WATCHDOG=1 STOPPING=1"
		mu.Lock()
		defer mu.Unlock()
		if got := strings.Join(sent, " "); got != want {
			t.Fatalf("sd_notify messages = %q, want %q", got, want)
		}
		if hw.pings != 4 {
			t.Fatalf("hardware watchdog pings = %d, want 4", hw.pings)
		}
	})
}

func TestKeepaliveWithoutSystemdStillPingsTheHardware(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hw := &countingPinger{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- keepaliveLoop(ctx, nil, nil, hw, func() time.Duration { return 0 }, 0, t.Logf) }()
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		cancel()
		<-done
		if hw.pings != 3 {
			t.Fatalf("hardware watchdog pings = %d, want one a second", hw.pings)
		}
	})
}

// hangingOximeter reads normally until hangAt, then blocks in ReadFIFO until
// release is closed, as a driver stuck on a wedged I²C bus would.
type hangingOximeter struct {
	Oximeter
	hangAt  time.Time
	release chan struct{}
}

func (h hangingOximeter) ReadFIFO(dst []max30102.Sample) (int, int, error) {
	if time.Now().After(h.hangAt) {
		<-h.release
	}
	return h.Oximeter.ReadFIFO(dst)
}

// A loop stuck in a bus transaction feeds nothing at all: pipeline_stalled
// aborts PipelineStallAfter (1 s) after the last reading, long before
// vitals_stale would.
func TestAHungSensorLoopAbortsOnAStalledPipeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		release := make(chan struct{})
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{wrap: func(o Oximeter) Oximeter {
			return hangingOximeter{Oximeter: o, hangAt: start.Add(15 * time.Second), release: release}
		}})
		until(start, 16*time.Second)
		if st := r.pod.Status(); st.State != StateIdle {
			t.Fatalf("aborted within a second of the hang: %+v", st)
		}
		until(start, 16300*time.Millisecond)
		st := r.pod.Status()
		if st.State != StateAborted || st.Safety.Latched.Rule != safety.RulePipeline || !r.hw.Strip.Dark() {
			t.Fatalf("status 1.3 s into the hang = %+v, want pipeline_stalled with the strip dark", st)
		}
		close(release)
		r.stop()
	})
}

func TestSafetyDoesNotWaitOnAStuckDiskOrUplink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := &memStore{stuck: make(chan struct{})}
		r := newRig(t, tachycardia, store)
		until(start, 70*time.Second)
		st := r.pod.Status()
		if st.State != StateAborted || st.Safety.Latched == nil || st.Safety.Latched.Rule != safety.RuleHeartRateHigh {
			t.Fatalf("status with the store stuck = %+v, want aborted", st)
		}
		if !r.hw.Strip.Dark() {
			t.Fatal("the strip is lit: the safe state waited on the store")
		}
		if got := r.up.Events("abort"); len(got) != 0 {
			t.Fatalf("abort reported before it was stored: %+v", got)
		}
		close(store.stuck)
		synctest.Wait()
		if got := r.up.Events("abort"); len(got) != 1 {
			t.Fatalf("abort events once the store recovered = %d, want 1", len(got))
		}
		r.stop()
	})
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		up := &fakeUplink{stuck: make(chan struct{})}
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{up: up})
		until(start, 70*time.Second)
		if st := r.pod.Status(); st.State != StateAborted || !r.hw.Strip.Dark() {
			t.Fatalf("status with the uplink stuck = %+v, want aborted with the strip dark", st)
		}
		close(up.stuck)
		r.stop()
	})
}

const stuckSensor = `
name: test-stuck
baseline: {heart_rate_bpm: 62, spo2_pct: 97, skin_conductance_us: 2, body_temp_c: 36.6}
timeline:
  - {at: 20s, fault: {device: max30102, kind: stuck, for: 30s}}
`

// A sensor whose bus replays its last answers looks alive: the driver reads
// without error. The estimator must not turn the repeated bytes into vitals.
func TestAStuckSensorIsNotMistakenForVitals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, stuckSensor, &memStore{})
		defer r.stop()
		until(start, 19*time.Second)
		if st := r.pod.Status(); st.Vitals.HeartRateBPM == nil {
			t.Fatalf("no vitals before the fault: %+v", st)
		}
		until(start, 30*time.Second)
		st := r.pod.Status()
		if st.State != StateAborted || st.Safety.Latched.Rule != safety.RuleVitalsStale || !r.hw.Strip.Dark() {
			t.Fatalf("status 10 s into a stuck sensor = %+v, want vitals_stale", st)
		}
		if st.Vitals.HeartRateBPM != nil {
			t.Fatalf("heart rate %.1f reported from a stuck sensor", *st.Vitals.HeartRateBPM)
		}
	})
}

// A brown-out resets the chip: it answers every read without error but has
// stopped sampling. The pod must not keep reporting its last window as vitals.
func TestAChipThatStopsSamplingIsAFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, tachycardia, &memStore{})
		defer r.stop()
		until(start, 15*time.Second)
		if st := r.pod.Status(); st.Vitals.HeartRateBPM == nil {
			t.Fatalf("no vitals before the reset: %+v", st)
		}
		// MODE_CONFIG RESET: the registers return to their power-on values.
		if err := r.hw.I2C.Tx(sim.MAX30102Addr, []byte{0x09, 0x40}, nil); err != nil {
			t.Fatal(err)
		}
		until(start, 16500*time.Millisecond)
		if st := r.pod.Status(); st.Vitals.HeartRateBPM != nil {
			t.Fatalf("heart rate %.1f still reported 1.5 s after the chip stopped sampling", *st.Vitals.HeartRateBPM)
		}
		faults := r.up.Events("fault")
		if len(faults) == 0 || faults[0].Fields["error"] != errNoSamples.Error() || faults[0].Fields["state"] != "stale" {
			t.Fatalf("fault events = %+v, want the no-samples fault, stale", faults)
		}
		// The pod reopens the chip, which initialises it again.
		until(start, 30*time.Second)
		if st := r.pod.Status(); st.Vitals.HeartRateBPM == nil {
			t.Fatalf("vitals did not come back after the chip was reopened: %+v", st)
		}
		if faults := r.up.Events("fault"); len(faults) != 2 || faults[1].Fields["active"] != false {
			t.Fatalf("fault events = %+v, want the recovery", faults)
		}
	})
}

func TestHealthyWhileTheWatchdogEvaluates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, tachycardia, &memStore{})
		time.Sleep(time.Second)
		synctest.Wait()
		if err := r.pod.Healthy(); err != nil {
			t.Fatalf("Healthy while running = %v", err)
		}
		r.stop()
		time.Sleep(stalledAfter)
		if err := r.pod.Healthy(); err == nil || !strings.HasPrefix(err.Error(), "safety watchdog has not evaluated for") {
			t.Fatalf("Healthy after the watchdog stopped = %v", err)
		}
	})
}

func TestAHungOutputStillLatchesStoresAndReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		hang := &haltHang{release: make(chan struct{})}
		store := &memStore{}
		r := newRigWith(t, tachycardia, store, rigOpts{hang: hang})
		until(start, 20*time.Second)
		hang.armed.Store(true) // the strip's bus wedges before the episode
		until(start, 70*time.Second)
		aborts := r.up.Events("abort")
		if len(aborts) != 1 || aborts[0].Fields["rule"] != safety.RuleHeartRateHigh ||
			!strings.Contains(fmt.Sprint(aborts[0].Fields["safe_state_error"]), "halt still in progress") {
			t.Fatalf("abort events = %+v, want heart_rate_high naming the output still halting", aborts)
		}
		if _, ok, _ := store.Latch(); !ok {
			t.Fatal("the latch was not stored while an output hung")
		}
		// The watchdog still evaluates; the hung output is the one problem.
		if err := r.pod.Healthy(); err == nil || err.Error() != "outputs not in their safe state: apa102(sim-spi, 8 LEDs)" {
			t.Fatalf("Healthy = %v, want only the hung output named", err)
		}
		close(hang.release)
		time.Sleep(keepSafeRetry)
		synctest.Wait()
		if err := r.pod.Healthy(); err != nil {
			t.Fatalf("Healthy once the halt returned = %v", err)
		}
		r.stop()
	})
}

func TestShutdownSafeStateDoesNotWaitForAStuckPart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		release := make(chan struct{})
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{wrap: func(o Oximeter) Oximeter {
			return hangingOximeter{Oximeter: o, hangAt: start.Add(15 * time.Second), release: release}
		}})
		until(start, 16*time.Second)
		if r.hw.Strip.Dark() {
			t.Fatal("strip dark before the shutdown")
		}
		r.cancel()
		synctest.Wait()
		if !r.hw.Strip.Dark() {
			t.Fatal("the shutdown's safe state waited for the stuck sensor loop")
		}
		select {
		case err := <-r.done:
			t.Fatalf("Run returned %v while a part was stuck, before the grace", err)
		default:
		}
		time.Sleep(stopGrace)
		synctest.Wait()
		select {
		case err := <-r.done:
			if err == nil || !strings.Contains(err.Error(), "parts still running") {
				t.Fatalf("Run = %v, want the stuck part reported", err)
			}
		default:
			t.Fatal("Run did not return after the grace")
		}
		if got := r.log.all(); got[len(got)-1] != "uplink offline" {
			t.Fatalf("the uplink was not stopped: %v", got)
		}
		close(release) // lets the stuck loop end, so the test leaks nothing
		synctest.Wait()
	})
}

func TestALatchTheStoreRefusedIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := &memStore{setErr: errors.New("journal: disk full")}
		r := newRig(t, tachycardia, store)
		defer r.stop()
		until(start, 70*time.Second)
		if _, ok, _ := store.Latch(); ok {
			t.Fatal("latch stored although the store refused")
		}
		store.mu.Lock()
		store.setErr = nil
		store.mu.Unlock()
		time.Sleep(storeRetry)
		synctest.Wait()
		if _, ok, _ := store.Latch(); !ok {
			t.Fatal("the refused latch was not stored once the store recovered")
		}
		until(start, 125*time.Second)
		if _, err := r.pod.Ack(context.Background(), techAck); err != nil {
			t.Fatalf("Ack once stored and safe: %v", err)
		}
	})
}

func TestOutputsReopenOnceAHungHaltReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		hang := &haltHang{release: make(chan struct{})}
		r := newRigWith(t, tachycardia, &memStore{}, rigOpts{hang: hang})
		defer r.stop()
		until(start, 20*time.Second)
		hang.armed.Store(true)
		until(start, 125*time.Second)
		if _, err := r.pod.Ack(context.Background(), techAck); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		if st := r.pod.Status(); st.State != StateIdle {
			t.Fatalf("state after ack = %s", st.State)
		}
		// The strip's Halt is still stuck on its bus: the gate stays closed
		// although nothing else holds it any more.
		time.Sleep(DefaultSettleTime + time.Second)
		synctest.Wait()
		if st := r.pod.Status(); !r.pod.parts.Gate.Safe() || len(st.Outputs.Holds) != 0 {
			t.Fatalf("outputs = %+v, gate safe %v; want closed with no hold but the halting output", st.Outputs, r.pod.parts.Gate.Safe())
		}
		hang.armed.Store(false)
		close(hang.release)
		time.Sleep(storeRetry)
		synctest.Wait()
		if r.pod.parts.Gate.Safe() || r.hw.Strip.Dark() {
			t.Fatal("the outputs did not reopen once the halt returned")
		}
	})
}
