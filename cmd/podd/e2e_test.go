package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/uplink"
)

// These tests run the real podd and podctl binaries against a real mosquitto,
// as a technician would on a bench: the pod's whole path from the simulated
// sensor to the hub and the local API.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func binaries(t *testing.T) (podd, podctl string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the daemon")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "podd-e2e-bin")
		if buildErr != nil {
			return
		}
		for _, c := range []string{"podd", "podctl"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, c), "../"+c).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", c, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "podd"), filepath.Join(binDir, "podctl")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// daemon is one run of podd.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    *bytes.Buffer
	mu     *sync.Mutex
	exited chan error
}

type bench struct {
	t                  *testing.T
	poddBin, podctlBin string
	dir, socket        string
	broker, podID      string
	scenario           string
	extraEnv           []string
}

func newBench(t *testing.T, broker, scenarioYAML string) *bench {
	t.Helper()
	podd, podctl := binaries(t)
	dir := t.TempDir()
	// Unix socket paths are short; t.TempDir's can be too long.
	sockDir, err := os.MkdirTemp("", "podd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sc := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(sc, []byte(scenarioYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	return &bench{t: t, poddBin: podd, podctlBin: podctl, dir: dir, socket: filepath.Join(sockDir, "podd.sock"),
		broker: broker, podID: "e2e-pod", scenario: sc}
}

func (b *bench) env() []string {
	return append(os.Environ(),
		"PODD_POD_ID="+b.podID,
		"PODD_UPLINK_BROKER="+b.broker,
		"PODD_SIM_SCENARIO="+b.scenario,
		"PODD_STORAGE_PATH="+filepath.Join(b.dir, "podd.db"),
		"PODD_API_SOCKET="+b.socket,
		// The steady ambient light, and the safe light without a wake
		// ramp: StripSafe tells the two apart.
		"PODD_DREAMSCAPE_PROGRAM=",
		"PODD_LIGHTS_WAKE_RAMP=0",
	)
}

func (b *bench) start() *daemon {
	b.t.Helper()
	d := b.launch()
	// A socket file may be left by a killed daemon: wait for one that answers.
	mqtttest.WaitFor(b.t, 10*time.Second, "podd's API socket", func() bool {
		c, err := net.Dial("unix", b.socket)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return d
}

// launch starts podd without waiting for its API, for a pod whose API cannot
// come up.
func (b *bench) launch() *daemon {
	b.t.Helper()
	d := &daemon{t: b.t, out: &bytes.Buffer{}, mu: &sync.Mutex{}, exited: make(chan error, 1)}
	d.cmd = exec.Command(b.poddBin, "--config", "../../configs/sim.yaml")
	d.cmd.Env = append(b.env(), b.extraEnv...)
	w := &lockedWriter{mu: d.mu, w: d.out}
	d.cmd.Stdout, d.cmd.Stderr = w, w
	if err := d.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	go func() { d.exited <- d.cmd.Wait() }()
	b.t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
		if b.t.Failed() {
			b.t.Logf("podd output:\n%s", d.output())
		}
	})
	return d
}

func (d *daemon) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

// stop sends SIGTERM, as systemd does, and expects a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatal(err)
	}
	select {
	case err := <-d.exited:
		if err != nil {
			d.t.Fatalf("podd exited with %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		d.t.Fatal("podd did not stop within 15 s of SIGTERM")
	}
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

// podctl runs the technician's tool and returns its output and exit code.
func (b *bench) podctl(args ...string) (string, int) {
	b.t.Helper()
	cmd := exec.Command(b.podctlBin, append([]string{"--socket", b.socket}, args...)...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	b.t.Fatalf("podctl %v: %v", args, err)
	return "", -1
}

func (b *bench) status() api.Status {
	b.t.Helper()
	out, code := b.podctl("status", "--json")
	if code != 0 {
		b.t.Fatalf("podctl status: exit %d: %s", code, out)
	}
	var st api.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		b.t.Fatalf("podctl status --json: %v: %s", err, out)
	}
	return st
}

// message is one MQTT message as the hub sees it.
type message struct {
	kind string // status, telemetry or events
	body map[string]any
}

func received(t *testing.T, sub *mqtttest.Subscriber, pod string) []message {
	t.Helper()
	var out []message
	for _, m := range sub.Messages() {
		var body map[string]any
		if err := json.Unmarshal(m.Payload(), &body); err != nil {
			t.Fatalf("%s: not JSON: %q", m.Topic(), m.Payload())
		}
		root := "sleegation/v1/pods/" + pod + "/"
		if !strings.HasPrefix(m.Topic(), root) {
			t.Fatalf("message on unexpected topic %s", m.Topic())
		}
		out = append(out, message{kind: strings.TrimPrefix(m.Topic(), root), body: body})
	}
	return out
}

func find(msgs []message, kind string, match func(map[string]any) bool) (map[string]any, bool) {
	for _, m := range msgs {
		if m.kind == kind && (match == nil || match(m.body)) {
			return m.body, true
		}
	}
	return nil, false
}

func lastStatus(msgs []message) map[string]any {
	var st map[string]any
	for _, m := range msgs {
		if m.kind == "status" {
			st = m.body
		}
	}
	return st
}

func seqs(msgs []message) []uint64 {
	var out []uint64
	for _, m := range msgs {
		if m.kind == "status" {
			continue
		}
		out = append(out, uint64(m.body["seq"].(float64)))
	}
	return out
}

// The Done-when scenario: the heart rate climbs past the limit.
const climbingHeartRate = `
name: e2e-climb
baseline: {heart_rate_bpm: 62, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
timeline:
  - {at: 10s, ramp: 10s, set: {heart_rate_bpm: 150}}
`

func TestAbortLatchesAcrossARestartUntilAck(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	b := newBench(t, m.URL(), climbingHeartRate)
	sub := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "hub-e2e", true)

	d := b.start()
	mqtttest.WaitFor(t, 60*time.Second, "an abort event", func() bool {
		_, ok := find(received(t, sub, b.podID), "events", func(e map[string]any) bool { return e["type"] == "abort" })
		return ok
	})
	msgs := received(t, sub, b.podID)
	abort, _ := find(msgs, "events", func(e map[string]any) bool { return e["type"] == "abort" })
	if abort["rule"] != "heart_rate_high" || abort["pod"] != b.podID || abort["simulated"] != true {
		t.Fatalf("abort event = %v, want rule heart_rate_high from %s, simulated", abort, b.podID)
	}
	if lat, ok := abort["latency_ms"].(float64); !ok || lat < 0 {
		t.Fatalf("abort event latency_ms = %v", abort["latency_ms"])
	}
	mqtttest.WaitFor(t, 5*time.Second, "status aborted", func() bool {
		st := lastStatus(received(t, sub, b.podID))
		return st["state"] == "aborted" && st["online"] == true
	})
	if _, ok := find(msgs, "telemetry", func(e map[string]any) bool { return e["simulated"] == true && e["safety"] == "ok" }); !ok {
		t.Fatal("no simulated telemetry before the abort")
	}
	st := b.status()
	if st.State != "aborted" || st.Sim == nil || !st.Sim.StripSafe || st.Safety.Latched == nil || st.Safety.Latched.Rule != "heart_rate_high" {
		t.Fatalf("podctl status after abort = %+v (sim %+v)", st, st.Sim)
	}
	// The heart rate is still 150: the pod refuses to be acknowledged.
	if out, code := b.podctl("ack"); code != 3 || !strings.Contains(out, "heart_rate_bpm") {
		t.Fatalf("podctl ack while unsafe: exit %d: %s", code, out)
	}
	d.stop()
	mqtttest.WaitFor(t, 5*time.Second, "the offline status", func() bool {
		st := lastStatus(received(t, sub, b.podID))
		return st["online"] == false && st["state"] == "offline"
	})

	// Restart: the scenario starts again at 62 bpm, but the pod stays
	// latched, at the safe light from the start ("starting" until its store is read).
	d = b.start()
	mqtttest.WaitFor(t, 5*time.Second, "the stored latch restored", func() bool {
		st = b.status()
		if st.State != "starting" && st.State != "aborted" || !st.Sim.StripSafe {
			t.Fatalf("status after restart = %+v, want starting or aborted with the strip at the safe light", st)
		}
		return st.State == "aborted"
	})
	if st.Safety.Latched == nil || st.Safety.Latched.Rule != "heart_rate_high" || !st.Sim.StripSafe {
		t.Fatalf("status after restart = %+v, want still aborted with the strip at the safe light", st)
	}
	mqtttest.WaitFor(t, 5*time.Second, "status aborted after restart", func() bool {
		st := lastStatus(received(t, sub, b.podID))
		return st["state"] == "aborted" && st["online"] == true
	})
	// podctl status and the retained status agree: aborted since the abort.
	retained := lastStatus(received(t, sub, b.podID))
	if st = b.status(); retained["since"] != uplink.FormatTime(st.Since) || !st.Since.Equal(st.Safety.Latched.At) {
		t.Fatalf("after the restart podctl status says since %v, the retained status %v; want both the abort's time %v", st.Since, retained["since"], st.Safety.Latched.At)
	}
	if out, code := b.podctl("status"); code != 0 || !strings.Contains(out, "\nproblem    safety abort: heart_rate_high at ") || !strings.Contains(out, "\nnext       check the sleeper") {
		t.Fatalf("podctl status after the restart: exit %d:\n%s", code, out)
	}
	// Once the vitals are valid and normal, a local ack clears the latch.
	var out string
	mqtttest.WaitFor(t, 12*time.Second, "podctl ack to succeed", func() bool {
		var code int
		out, code = b.podctl("ack", "--note", "sleeper checked")
		if code != 0 && code != 3 {
			t.Fatalf("podctl ack: exit %d: %s", code, out)
		}
		return code == 0
	})
	if !strings.Contains(out, "cleared abort heart_rate_high") || !strings.Contains(out, fmt.Sprintf("uid %d, pid ", os.Getuid())) || !strings.HasSuffix(out, `: "sleeper checked"`+"\n") {
		t.Fatalf("podctl ack said %q", out)
	}
	// The hub hears who cleared it: podctl's uid, from the socket.
	mqtttest.WaitFor(t, 10*time.Second, "the ack event", func() bool {
		_, ok := find(received(t, sub, b.podID), "events", func(e map[string]any) bool { return e["type"] == "ack" })
		return ok
	})
	ackEv, _ := find(received(t, sub, b.podID), "events", func(e map[string]any) bool { return e["type"] == "ack" })
	if ackEv["rule"] != "heart_rate_high" || ackEv["source"] != "api" || ackEv["uid"] != float64(os.Getuid()) || ackEv["note"] != "sleeper checked" || ackEv["detected_at"] != abort["detected_at"] {
		t.Fatalf("ack event = %v; want heart_rate_high detected at %v, by uid %d, with the note", ackEv, abort["detected_at"], os.Getuid())
	}
	if pid, ok := ackEv["pid"].(float64); !ok || pid <= 0 {
		t.Fatalf("ack event pid = %v", ackEv["pid"])
	}
	if text, _ := b.podctl("status"); !strings.Contains(text, "last ack   heart_rate_high (detected ") || !strings.Contains(text, " by api, ") {
		t.Fatalf("podctl status after the ack does not say who cleared it:\n%s", text)
	}
	st = b.status()
	if st.State != "idle" || st.Safety.Latched != nil || !st.Sim.StripSafe || strings.Join(st.Outputs.Holds, ",") != "settling" {
		t.Fatalf("status after ack = %+v (sim %+v), want idle with the strip at the safe light until the vitals settle", st, st.Sim)
	}
	// The light comes back once the vitals have been within every limit
	// for the settling time (10 s) after the ack.
	mqtttest.WaitFor(t, 15*time.Second, "the light back after the settling time", func() bool {
		st = b.status()
		return !st.Sim.StripSafe && !st.Outputs.Safe
	})
	mqtttest.WaitFor(t, 5*time.Second, "status idle", func() bool {
		return lastStatus(received(t, sub, b.podID))["state"] == "idle"
	})
	d.stop()

	// seq is one counter per pod, never reused across the restart: every seq
	// of the second boot is above every seq of the first (a record may arrive
	// twice, delivery being at least once, but always with its own boot).
	bootOf := map[uint64]any{}
	var boots []any
	maxSeq, minSeq := map[any]uint64{}, map[any]uint64{}
	for _, m := range received(t, sub, b.podID) {
		if m.kind == "status" {
			continue
		}
		seq, boot := uint64(m.body["seq"].(float64)), m.body["boot"]
		if prev, ok := bootOf[seq]; ok && prev != boot {
			t.Fatalf("seq %d used by boot %v and by boot %v", seq, prev, boot)
		}
		bootOf[seq] = boot
		if _, ok := maxSeq[boot]; !ok {
			boots = append(boots, boot)
			minSeq[boot] = seq
		}
		maxSeq[boot] = max(maxSeq[boot], seq)
		minSeq[boot] = min(minSeq[boot], seq)
	}
	if len(boots) != 2 || maxSeq[boots[0]] >= minSeq[boots[1]] {
		t.Fatalf("boots %v: first run seq up to %d, second from %d; want two boots, the second after the first",
			boots, maxSeq[boots[0]], minSeq[boots[len(boots)-1]])
	}
}

// outage starts a persistent broker, a hub subscriber with a persistent
// session and a calm pod sending telemetry every 200 ms, then stops the
// broker once the hub has seen a few records.
func outage(t *testing.T, hubID string) (*mqtttest.Mosquitto, *bench, *mqtttest.Subscriber, *daemon) {
	t.Helper()
	m := mqtttest.Start(t, true)
	b := newBench(t, m.URL(), `
name: e2e-calm
baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
`)
	b.extraEnv = []string{"PODD_TELEMETRY_INTERVAL=200ms"}
	sub := mqtttest.Subscribe(t, m.URL(), "sleegation/v1/pods/e2e-pod/+", hubID, false)
	d := b.start()
	// Telemetry reaches the hub once the journal commits it: within its
	// CommitInterval (10 s).
	mqtttest.WaitFor(t, 25*time.Second, "telemetry before the outage", func() bool {
		return len(seqs(received(t, sub, b.podID))) >= 5
	})
	m.Stop()
	return m, b, sub, d
}

func TestBrokerOutageLosesNoRecord(t *testing.T) {
	t.Parallel()
	m, b, sub, d := outage(t, "hub-outage")
	time.Sleep(3 * time.Second) // the outage: about 15 telemetry records wait in the outbox
	if st := b.status(); st.Uplink.Connected || st.Uplink.Outbox < 5 {
		t.Fatalf("during the outage: uplink %+v, want disconnected with records waiting", st.Uplink)
	}
	before := maxSeq(received(t, sub, b.podID))
	m.Start()
	mqtttest.WaitFor(t, 30*time.Second, "the backlog at the hub after the broker came back", func() bool {
		return backlogDelivered(received(t, sub, b.podID), before)
	})
	d.stop()

	assertEverySeq(t, sub, b)
	historical := 0
	for _, msg := range received(t, sub, b.podID) {
		if msg.kind == "telemetry" && msg.body["historical"] == true {
			historical++
		}
	}
	if historical < 5 {
		t.Fatalf("%d telemetry records marked historical, want the ones made during the outage", historical)
	}
}

// assertEverySeq checks, once podd has stopped, that every seq the pod ever
// assigned (its store's counter) is either at the hub, possibly twice
// (delivery is at least once), or still in the outbox to be sent at the next
// start. It returns the seqs the hub received.
func assertEverySeq(t *testing.T, sub *mqtttest.Subscriber, b *bench) []uint64 {
	t.Helper()
	store, err := journal.Open(filepath.Join(b.dir, "podd.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	next, err := store.NextSeq()
	if err != nil {
		t.Fatal(err)
	}
	pending, err := store.Pending(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	accounted := map[uint64]bool{}
	for _, r := range pending {
		accounted[r.Seq] = true
	}
	var got []uint64
	missing := func() []uint64 {
		got = dedup(sorted(seqs(received(t, sub, b.podID))))
		seen := map[uint64]bool{}
		for _, s := range got {
			seen[s] = true
		}
		var miss []uint64
		for s := uint64(1); s < next; s++ {
			if !seen[s] && !accounted[s] {
				miss = append(miss, s)
			}
		}
		return miss
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if miss := missing(); len(miss) > 0 {
		t.Fatalf("seqs %v of 1..%d neither at the hub nor in the outbox (%d pending)", miss, next-1, len(pending))
	}
	if len(got) == 0 || got[len(got)-1] >= next {
		t.Fatalf("hub seqs %v, store next seq %d", got, next)
	}
	return got
}

func sorted(s []uint64) []uint64 {
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

// TestPowerCutLosesNoRecord cuts the pod's power (SIGKILL) while the broker is
// down and records wait in the outbox: after the restart every committed
// record, and every new one, reaches the hub, with no committed seq reused
// (telemetry still in the group commit's batch at the cut is lost with its
// seqs, which nothing sent).
func TestPowerCutLosesNoRecord(t *testing.T) {
	t.Parallel()
	m, b, sub, d := outage(t, "hub-powercut")
	mqtttest.WaitFor(t, 10*time.Second, "records waiting in the outbox", func() bool {
		return b.status().Uplink.Outbox >= 10
	})
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	before := maxSeq(received(t, sub, b.podID))
	m.Start()

	d = b.start()
	mqtttest.WaitFor(t, 30*time.Second, "the backlog at the hub after the restart", func() bool {
		return backlogDelivered(received(t, sub, b.podID), before)
	})
	d.stop()
	got := assertEverySeq(t, sub, b)
	boots := map[any]bool{}
	for _, msg := range received(t, sub, b.podID) {
		if msg.kind != "status" {
			boots[msg.body["boot"]] = true
		}
	}
	if len(boots) != 2 {
		t.Fatalf("records from %d boots, want 2 (before and after the power cut)", len(boots))
	}
	t.Logf("%d records at the hub, up to seq %d", len(got), got[len(got)-1])
}

func maxSeq(msgs []message) uint64 {
	var top uint64
	for _, s := range seqs(msgs) {
		top = max(top, s)
	}
	return top
}

// backlogDelivered reports whether the hub holds every seq from 1 to the
// highest it received, and a telemetry record above before that was made
// on the connection it came on (historical false): a record made after the
// reconnection. The drainer sends in seq order, so the backlog made before
// that record has been delivered. (The outbox's length says less: with
// telemetry every 200 ms it holds the group commit's batch, and is empty
// only for moments.)
func backlogDelivered(msgs []message, before uint64) bool {
	got := dedup(sorted(seqs(msgs)))
	if len(got) == 0 || got[0] != 1 || got[len(got)-1] != uint64(len(got)) {
		return false
	}
	for _, m := range msgs {
		if m.kind == "telemetry" && m.body["historical"] == false && uint64(m.body["seq"].(float64)) > before {
			return true
		}
	}
	return false
}

func dedup(s []uint64) []uint64 {
	var out []uint64
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// TestMakeRunIsSeenByMosquittoSub is `make run` as a person checks it: the
// shipped sim.yaml with its embedded broker, watched with mosquitto_sub.
func TestMakeRunIsSeenByMosquittoSub(t *testing.T) {
	t.Parallel()
	mqtttest.Binary(t) // mosquitto_sub comes with it
	sub, err := exec.LookPath("mosquitto_sub")
	if err != nil {
		t.Fatalf("mosquitto_sub not installed: %v", err)
	}
	port, metricsPort := mqtttest.FreePort(t), mqtttest.FreePort(t)
	b := newBench(t, "embedded", `
name: e2e-calm
baseline: {heart_rate_bpm: 58, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
`)
	b.podID = "sim-pod-1"
	b.extraEnv = []string{
		fmt.Sprintf("PODD_UPLINK_EMBEDDED_LISTEN=127.0.0.1:%d", port),
		fmt.Sprintf("PODD_API_METRICS_LISTEN=127.0.0.1:%d", metricsPort),
	}
	d := b.start()
	defer d.stop()

	// Six messages: the retained status first, then telemetry once a second.
	out, err := exec.Command(sub, "-h", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "sleegation/#", "-v", "-C", "6", "-W", "20").Output()
	if err != nil {
		t.Fatalf("mosquitto_sub: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 6 {
		t.Fatalf("mosquitto_sub printed %d lines, want 6:\n%s", len(lines), out)
	}
	topic, payload, _ := strings.Cut(lines[0], " ")
	var status map[string]any
	if err := json.Unmarshal([]byte(payload), &status); err != nil || topic != "sleegation/v1/pods/sim-pod-1/status" ||
		status["online"] != true || status["state"] != "idle" || status["simulated"] != true {
		t.Fatalf("first message = %s, want the retained online status", lines[0])
	}
	var prev float64
	telemetry := 0
	for _, l := range lines[1:] {
		topic, payload, _ := strings.Cut(l, " ")
		var m map[string]any
		if err := json.Unmarshal([]byte(payload), &m); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		if topic == "sleegation/v1/pods/sim-pod-1/events" {
			continue
		}
		if topic != "sleegation/v1/pods/sim-pod-1/telemetry" || m["simulated"] != true {
			t.Fatalf("unexpected message %s", l)
		}
		seq := m["seq"].(float64)
		if seq <= prev {
			t.Fatalf("telemetry seq %v after %v: not increasing", seq, prev)
		}
		prev = seq
		telemetry++
	}
	if telemetry < 3 {
		t.Fatalf("%d telemetry messages among the first 6, want at least 3:\n%s", telemetry, out)
	}

	base := fmt.Sprintf("http://127.0.0.1:%d", metricsPort)
	if code, body := httpGet(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("GET /healthz = %d %q", code, body)
	}
	code, body := httpGet(t, base+"/metrics")
	if code != 200 || !strings.Contains(body, `podd_state{state="idle"} 1`) || !strings.Contains(body, "podd_uplink_connected 1") || !strings.Contains(body, "podd_simulated 1") {
		t.Fatalf("GET /metrics = %d:\n%s", code, body)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
