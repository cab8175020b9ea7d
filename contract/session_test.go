package contract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/button"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sim"
	"github.com/sleegation/podd/sim/scenario"
	"github.com/sleegation/podd/uplink"
)

const podID = "contract-pod"

// hubView is what a hub subscribed to the pod's topics received.
type hubView struct {
	t   *testing.T
	sub *mqtttest.Subscriber
}

type hubMsg struct {
	kind    string // status, telemetry or events
	payload []byte
	body    map[string]any
}

func (h hubView) messages() []hubMsg {
	h.t.Helper()
	var out []hubMsg
	root := uplink.Root(podID)
	for _, m := range h.sub.Messages() {
		kind, ok := strings.CutPrefix(m.Topic(), root)
		if !ok {
			h.t.Fatalf("message on a topic outside the pod's: %s", m.Topic())
		}
		if kind == uplink.TopicCmd {
			continue // the hub's own commands (checked by hubcmd's tests)
		}
		var body map[string]any
		if err := json.Unmarshal(m.Payload(), &body); err != nil {
			h.t.Fatalf("%s: not JSON: %q", m.Topic(), m.Payload())
		}
		out = append(out, hubMsg{kind: kind, payload: m.Payload(), body: body})
	}
	return out
}

func (h hubView) has(kind string, match func(map[string]any) bool) bool {
	for _, m := range h.messages() {
		if m.kind == kind && match(m.body) {
			return true
		}
	}
	return false
}

func event(typ string, kv ...string) func(map[string]any) bool {
	return func(b map[string]any) bool {
		if b["type"] != typ {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if b[kv[i]] != kv[i+1] {
				return false
			}
		}
		return true
	}
}

// schemaFor names the schema of a topic of the pod.
var schemaFor = map[string]string{uplink.TopicStatus: "status", uplink.TopicTelemetry: "telemetry", uplink.TopicEvents: "event", uplink.TopicReply: "reply"}

// validateAll validates every message the hub received and returns what it
// saw: event types, and the forms of each.
func validateAll(t *testing.T, msgs []hubMsg) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range msgs {
		name, ok := schemaFor[m.kind]
		if !ok {
			t.Errorf("the pod published on %s, which the contract does not have", m.kind)
			continue
		}
		mustValidate(t, name, m.payload)
		seen[m.kind] = true
		switch m.kind {
		case uplink.TopicStatus:
			if m.body["online"] == false {
				seen["status offline"] = true
			}
		case uplink.TopicTelemetry:
			if m.body["historical"] == true {
				seen["telemetry historical"] = true
			}
		case uplink.TopicEvents:
			typ, _ := m.body["type"].(string)
			seen["event "+typ] = true
			for _, k := range []string{"device", "part", "fault", "reason", "action", "to", "session"} {
				if v, ok := m.body[k].(string); ok && (typ != "state" || k == "to") && (typ != "panic" || k == "session") && typ != "abort" && typ != "ack" {
					seen["event "+typ+" "+k+" "+v] = true
				} else if ok && k == "session" {
					seen["event "+typ+" session"] = true
				}
			}
			if typ == "fault" && m.body["polls"] != nil {
				seen["event fault polls"] = true
			}
			if typ == "panic" && m.body["session"] != nil {
				seen["event panic session"] = true
			}
		}
	}
	return seen
}

// A real pod (the controller with the simulated hardware, its real journal
// and uplink) runs a short night against a real mosquitto: another pod
// online under its id when it starts (so it keeps its records, and sends
// them as historical once that pod has gone), a part that fails once,
// telemetry the store refuses and more events than it keeps in memory
// before its store opens, a stalled sensor loop that
// loses samples to the FIFO's overflow, consent, a merge
// through baseline to merged and ending, a merge left on a panic, one left
// on merge/abort, a withdrawal, a sensor fault that becomes an abort and is
// acknowledged, and a clean stop. Every message the hub receives validates
// against the contract's schemas, and every event type and form that run
// produces is seen. Every message published under sleegation/ during it
// passes the privacy check (privacyProblems): no raw waveform leaves the
// pod, and it uses no topic but its own four.
func TestEveryMessageOfASessionValidates(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs a pod against mosquitto for about a minute")
	}
	m := mqtttest.Start(t, false)
	hub := hubView{t: t, sub: mqtttest.Subscribe(t, m.URL(), uplink.Root(podID)+"#", "contract-hub", true)}
	// Everything anyone publishes under sleegation/, for the privacy check.
	everything := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "contract-privacy", true)

	// A dip of SpO2 to 86 % for 6 s, shorter than spo2_low's delay: a
	// warning, no abort.
	sc, err := scenario.Parse([]byte("name: contract\nbaseline: {heart_rate_bpm: 58, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}\n" +
		"timeline:\n  - {at: 8s, ramp: 1s, set: {spo2_pct: 86}}\n  - {at: 15s, ramp: 1s, set: {spo2_pct: 97}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	const leds = 8
	hw, err := sim.NewHardware(sc, leds, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	strip, err := apa102.New(hw.SPI, &apa102.Opts{NumPixels: leds, Speed: apa102.DefaultOpts.Speed})
	if err != nil {
		t.Fatal(err)
	}
	gate := actuators.NewGate(strip)
	if err := gate.SafeState(); err != nil {
		t.Fatal(err)
	}
	consentB, err := button.New(hw.ConsentLine, nil)
	if err != nil {
		t.Fatal(err)
	}
	panicB, err := button.New(hw.PanicLine, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{mu: &logMu, w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	defer func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("pod log:\n%s", logs.String())
			logMu.Unlock()
		}
	}()

	slot := journal.NewSlot()
	dbPath := filepath.Join(t.TempDir(), "podd.db")
	var oxFail, oxStall atomic.Bool
	var flakyRuns atomic.Int32
	up, err := uplink.New(uplink.Config{
		Broker: m.URL(), Pod: podID, Boot: "c0ffee0000000001", Version: "contract-test", Simulated: true,
		ClockSynced: func() bool { return true }, Logger: log,
		ProbeWait: 200 * time.Millisecond, KeepAlive: 5 * time.Second,
		DuplicateGrace: time.Second, DuplicateBackoff: uplink.BackoffPolicy{Initial: 500 * time.Millisecond, Max: time.Second},
	}, slot)
	if err != nil {
		t.Fatal(err)
	}
	services := []controller.Part{
		{Name: "store", Run: func(ctx context.Context, ready func()) error {
			// The store opens late: the telemetry made before is refused,
			// and reported in a dropped event.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(2500 * time.Millisecond):
			}
			s, err := journal.Open(dbPath, nil)
			if err != nil {
				return err
			}
			if err := slot.Set(s); err != nil {
				s.Close()
				return err
			}
			ready()
			<-ctx.Done()
			return nil
		}},
		{Name: "sim", Run: func(ctx context.Context, ready func()) error {
			ready()
			return hw.Run(ctx)
		}},
		{Name: "flaky", Run: func(ctx context.Context, ready func()) error {
			if flakyRuns.Add(1) == 1 {
				return errors.New("flaky: fails on its first run")
			}
			ready()
			<-ctx.Done()
			return nil
		}},
	}
	hubKey, err := hubclient.GenerateKey("hub-1")
	if err != nil {
		t.Fatal(err)
	}
	keySet, err := hubclient.PublicSet(hubKey)
	if err != nil {
		t.Fatal(err)
	}
	hubKeys, err := hubcmd.ParseKeySet(keySet)
	if err != nil {
		t.Fatal(err)
	}
	simConfig, err := configs.Load("../configs/sim.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	pod, err := controller.New(controller.Config{
		Pod: podID, Boot: "c0ffee0000000001", Version: "contract-test", Simulated: true,
		Settings: simConfig.Settings(),
		HubKeys:  hubKeys, ClockSynced: func() bool { return true },
		TelemetryInterval: time.Second,
		Limits:            safety.DefaultLimits(),
		AmbientLight:      apa102.Color{R: 40, G: 18, B: 4},
		LEDCount:          leds,
		Session:           controller.SessionConfig{BaselineDuration: 10 * time.Second, EndingDuration: 5 * time.Second},
		Logger:            log,
	}, controller.Parts{
		OpenOximeter: func() (controller.Oximeter, error) {
			if oxFail.Load() {
				return nil, errors.New("max30102: no answer on the bus (test)")
			}
			d, err := max30102.New(hw.I2C, &max30102.DefaultOpts)
			if err != nil {
				return nil, err
			}
			return failingOximeter{Oximeter: d, fail: &oxFail, stall: &oxStall}, nil
		},
		Strip: strip, Gate: gate, ConsentButton: consentB, PanicButton: panicB,
		Store: slot, Uplink: up, Services: services,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Another pod is online under the same id when this one starts: this
	// one publishes nothing until it has gone, then sends what it kept.
	other, err := uplink.New(uplink.Config{Broker: m.URL(), Pod: podID, Boot: "0be40be40be40be4", Version: "other",
		ClientID: "podd-other", ProbeWait: 200 * time.Millisecond}, &captureJournal{})
	if err != nil {
		t.Fatal(err)
	}
	otherCtx, otherCancel := context.WithCancel(context.Background())
	otherDone := make(chan error, 1)
	go func() { otherDone <- other.Run(otherCtx) }()
	defer func() { otherCancel(); <-otherDone }()
	mqtttest.WaitFor(t, 10*time.Second, "the other pod online", func() bool {
		return hub.has(uplink.TopicStatus, func(b map[string]any) bool { return b["boot"] == "0be40be40be40be4" && b["online"] == true })
	})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pod.Run(ctx) }()
	// More events than the pod keeps in memory before its store opens: the
	// oldest are let go and reported (unstored_overflow).
	for range 300 {
		if _, err := pod.GrantConsent("api", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("pod.Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the pod did not stop within 15 s")
		}
		hw.I2C.Close()
		hw.SPI.Close()
		slot.Close()
	}
	defer stop()

	wait := func(within time.Duration, what string, cond func() bool) {
		t.Helper()
		mqtttest.WaitFor(t, within, what, cond)
	}
	wait(10*time.Second, "the other pod to be found", func() bool { return up.Duplicate() != nil })
	// The recorder reports it within its tick; the telemetry made meanwhile
	// is kept, and sent as historical.
	time.Sleep(2 * time.Second)
	otherCancel()
	if err := <-otherDone; err != nil {
		t.Fatalf("the other pod's uplink: %v", err)
	}
	otherDone <- nil
	wait(20*time.Second, "the dropped event of the telemetry refused before the store opened",
		func() bool { return hub.has(uplink.TopicEvents, event("dropped", "reason", "store_refused")) })
	wait(20*time.Second, "the flaky part's recovery", func() bool {
		return hub.has(uplink.TopicEvents, func(b map[string]any) bool {
			return b["type"] == "fault" && b["part"] == "flaky" && b["active"] == false
		})
	})

	// The sensor loop stalls once for longer than the oximeter's FIFO
	// holds: samples are lost, a repeating fault that ends once quiet.
	oxStall.Store(true)

	merge := func(session string) {
		t.Helper()
		if _, err := pod.GrantConsent("api", time.Hour); err != nil {
			t.Fatal(err)
		}
		var last error
		defer func() {
			if t.Failed() {
				t.Logf("last merge/start %s: %v", session, last)
			}
		}()
		wait(40*time.Second, "merge/start "+session+" to be accepted", func() bool {
			last = pod.StartMerge(controller.MergeRequest{Session: session, Dreamscape: "tide", MaxDuration: time.Hour})
			return last == nil
		})
	}
	state := func(want string) func() bool {
		return func() bool { st, _ := pod.State(); return st == want }
	}

	merge("m-1")
	wait(30*time.Second, "merged", state(controller.StateMerged))
	if err := pod.EndMerge("m-1", "merge/end"); err != nil {
		t.Fatal(err)
	}
	wait(20*time.Second, "idle after ending", state(controller.StateIdle))

	merge("m-2")
	pod.Panic("button")
	wait(10*time.Second, "idle after the panic", state(controller.StateIdle))

	merge("m-3")
	// A signed command the pod refuses (identify during a merge), then an
	// unsigned merge/abort it acts on, both through the broker.
	signer, err := hubclient.NewSigner(hubKey, hubclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	refused, err := signer.Sign(hubcmd.Identify{Duration: 10 * time.Second}, podID)
	if err != nil {
		t.Fatal(err)
	}
	mqtttest.Publish(t, m.URL(), "contract-hub-cmd", uplink.Root(podID)+uplink.TopicCmd, refused.Raw, false)
	abort, err := hubclient.UnsignedAbort(hubcmd.MergeAbort{Session: "m-3", Reason: "test"}, podID)
	if err != nil {
		t.Fatal(err)
	}
	mqtttest.Publish(t, m.URL(), "contract-hub-cmd", uplink.Root(podID)+uplink.TopicCmd, abort.Raw, false)
	wait(10*time.Second, "idle after merge/abort", state(controller.StateIdle))
	wait(20*time.Second, "both replies at the hub", func() bool {
		return hub.has(uplink.TopicReply, func(b map[string]any) bool { return b["jti"] == refused.ID && b["ok"] == false }) &&
			hub.has(uplink.TopicReply, func(b map[string]any) bool { return b["jti"] == abort.ID && b["ok"] == true })
	})
	pod.WithdrawConsent("api")

	// The oximeter stops answering: a device fault, then vitals_stale.
	oxFail.Store(true)
	wait(30*time.Second, "aborted", state(controller.StateAborted))
	oxFail.Store(false)
	var last error
	defer func() {
		if t.Failed() {
			t.Logf("last ack: %v", last)
		}
	}()
	wait(60*time.Second, "the abort to be acknowledged", func() bool {
		actx, acancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer acancel()
		_, last = pod.Ack(actx, techAck)
		if last != nil {
			time.Sleep(500 * time.Millisecond)
		}
		return last == nil
	})
	wait(20*time.Second, "the end of the FIFO overflow", func() bool {
		return hub.has(uplink.TopicEvents, func(b map[string]any) bool {
			return b["type"] == "fault" && b["fault"] == "fifo_overflow" && b["active"] == false
		})
	})
	wait(20*time.Second, "the ack at the hub", func() bool { return hub.has(uplink.TopicEvents, event("ack")) })
	// The ack is the last audited event: the pod's log ends with it.
	rep, err := slot.VerifyAudit()
	if err != nil || !rep.Intact() {
		t.Errorf("VerifyAudit = %+v (broken %+v), %v", rep, rep.Broken, err)
	}
	stop()
	wait(10*time.Second, "the offline status", func() bool {
		return hub.has(uplink.TopicStatus, func(b map[string]any) bool { return b["online"] == false })
	})

	seen := validateAll(t, hub.messages())
	// Raw waveforms never leave the pod: every topic used under
	// sleegation/ is one of the pod's four or the hub's cmd, and nothing
	// the pod published holds a series of samples.
	all := everything.Messages()
	if len(all) < len(hub.messages()) {
		t.Errorf("the sleegation/# subscriber saw %d messages, fewer than the pod's %d", len(all), len(hub.messages()))
	}
	for _, msg := range all {
		for _, p := range privacyProblems(podID, msg.Topic(), msg.Payload()) {
			t.Error(p)
		}
	}
	for _, want := range []string{
		"status", "status offline", "telemetry", "telemetry historical",
		"event fault fault duplicate_pod", "event fault fault fifo_overflow", "event fault polls",
		"event state", "event state to idle", "event state to baseline", "event state to merged", "event state to ending", "event state to aborted",
		"event state session",
		"event abort", "event ack", "event warning",
		"event fault", "event fault part flaky", "event fault device max30102",
		"event dropped", "event dropped reason store_refused", "event dropped reason unstored_overflow",
		"event consent", "event consent action granted", "event consent action withdrawn",
		"event panic", "event panic session",
		"reply", "event command", "event config",
	} {
		if !seen[want] {
			t.Errorf("the run produced no %q message", want)
		}
	}
	// The audited events the hub holds are the pod's chain: consecutive
	// entries, each holding the hash of the one before, ending where the
	// pod's log ends.
	links := map[uint64]map[string]any{}
	for _, m := range hub.messages() {
		if a, ok := m.body["audit"].(map[string]any); ok {
			links[uint64(a["n"].(float64))] = a
		}
	}
	for n := uint64(1); n <= rep.Last; n++ {
		l, ok := links[n]
		switch {
		case !ok:
			t.Errorf("no event at the hub carries audit entry %d (of %d)", n, rep.Last)
		case n > 1 && links[n-1] != nil && l["prev"] != links[n-1]["hash"]:
			t.Errorf("audit entry %d's prev %v is not entry %d's hash %v", n, l["prev"], n-1, links[n-1]["hash"])
		}
	}
	if l := links[rep.Last]; l == nil || l["hash"] != rep.LastHash || len(links) != int(rep.Last) {
		t.Errorf("the hub holds %d audited events, the last %v; the pod's log ends at %d with %s", len(links), l, rep.Last, rep.LastHash)
	}
	if t.Failed() {
		var keys []string
		for k := range seen {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		t.Logf("seen: %s", strings.Join(keys, "; "))
	}
}

// failingOximeter stops answering while fail is set, and stalls once for
// two seconds, longer than the chip's 32-sample FIFO holds at 25 Hz, when
// stall is set.
type failingOximeter struct {
	controller.Oximeter
	fail, stall *atomic.Bool
}

func (f failingOximeter) ReadFIFO(dst []max30102.Sample) (int, int, error) {
	if f.stall.CompareAndSwap(true, false) {
		time.Sleep(2 * time.Second)
	}
	if f.fail.Load() {
		return 0, 0, errors.New("max30102: read FIFO: no answer on the bus (test)")
	}
	return f.Oximeter.ReadFIFO(dst)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// techAck is a technician's acknowledgement through the local API, with
// every field an ack event can carry.
var techAck = controller.AckSource{Kind: controller.AckByAPI, UID: new(uint32(0)), PID: new(int32(4242)), User: "root", Note: "sleeper checked, electrode refixed"}
