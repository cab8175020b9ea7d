package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/uplink"
)

// These tests run the pod with one of its parts broken (the local API, the
// metrics listener, the store, the disk, the broker) and check that the
// safety watchdog still aborts, that the fault is reported, and that the pod
// stops within systemd's budget.

// tachycardiaFromTheStart is a sleeper at 150 bpm from the first sample: the
// watchdog aborts heart_rate_high once the vitals are estimated and the alarm
// delay has passed, about 15 s after podd starts.
const tachycardiaFromTheStart = `
name: e2e-tachycardia
baseline: {heart_rate_bpm: 150, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
`

// tachycardiaBench is a bench for tachycardiaFromTheStart. The stale-vitals
// limit is raised to its hard bound (10 s): the bench machine is shared, and
// a stall of podd of about 2 s overflows the oximeter's 32-sample FIFO, after
// which the estimator needs 4 s of signal, so the default 5 s would end some
// runs in a vitals_stale abort instead of the heart_rate_high these tests
// follow.
func tachycardiaBench(t *testing.T, m *mqtttest.Mosquitto) *bench {
	t.Helper()
	b := newBench(t, m.URL(), tachycardiaFromTheStart)
	b.extraEnv = []string{"PODD_SAFETY_STALE_AFTER=10s"}
	return b
}

// abortWithin bounds the wait for the abort: about 15 s after the start, with
// room for a loaded machine.
const abortWithin = 35 * time.Second

func isAbort(e map[string]any) bool {
	return e["type"] == "abort" && e["rule"] == "heart_rate_high"
}

func isFault(part string) func(map[string]any) bool {
	return func(e map[string]any) bool {
		return e["type"] == "fault" && e["part"] == part && e["active"] == true
	}
}

// part returns the named part of a status, or fails the test.
func part(t *testing.T, st api.Status, name string) api.PartStatus {
	t.Helper()
	for _, p := range st.Parts {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("status has no part %q: %+v", name, st.Parts)
	return api.PartStatus{}
}

// logged reports whether podd wrote a line with message msg and every one of
// the attrs (key=value, as slog's text handler writes them).
func logged(out, msg string, attrs ...string) bool {
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text() + " "
		if !strings.Contains(line, "msg="+strconv.Quote(msg)+" ") && !strings.Contains(line, "msg="+msg+" ") {
			continue
		}
		ok := true
		for _, a := range attrs {
			ok = ok && strings.Contains(line, " "+a+" ")
		}
		if ok {
			return true
		}
	}
	return false
}

// retainedStatus subscribes afresh, as a hub that just came up would, and
// returns the retained status the broker hands it.
func retainedStatus(t *testing.T, m *mqtttest.Mosquitto, pod, clientID string) map[string]any {
	t.Helper()
	sub := mqtttest.Subscribe(t, m.URL(), uplink.Root(pod)+uplink.TopicStatus, clientID, true)
	var st map[string]any
	mqtttest.WaitFor(t, 5*time.Second, "the retained status", func() bool {
		msgs := sub.Messages()
		for i, msg := range msgs {
			if msg.Retained() {
				st = received(t, sub, pod)[i].body
				return true
			}
		}
		return false
	})
	return st
}

// holdsAll reports whether every one of want is among holds.
func holdsAll(holds []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(holds, w) {
			return false
		}
	}
	return true
}

func TestBrokenPartsDoNotStopTheWatchdog(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	b := tachycardiaBench(t, m)
	sub := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "hub-broken-parts", true)

	// The API's socket path is taken by a regular file, which the API must
	// not remove; the metrics port is held by this test.
	if err := os.WriteFile(b.socket, []byte("not a socket\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	b.extraEnv = append(b.extraEnv, "PODD_API_METRICS_LISTEN="+held.Addr().String())

	d := b.launch()
	mqtttest.WaitFor(t, abortWithin, "the abort and the faults of api and metrics at the hub", func() bool {
		msgs := received(t, sub, b.podID)
		_, abort := find(msgs, "events", isAbort)
		_, apiFault := find(msgs, "events", isFault("api"))
		_, metricsFault := find(msgs, "events", isFault("metrics"))
		return abort && apiFault && metricsFault
	})
	msgs := received(t, sub, b.podID)
	apiFault, _ := find(msgs, "events", isFault("api"))
	if e, _ := apiFault["error"].(string); !strings.Contains(e, b.socket) || !strings.Contains(e, "not a socket") {
		t.Errorf("api fault event = %v, want the error naming %s as not a socket", apiFault, b.socket)
	}
	metricsFault, _ := find(msgs, "events", isFault("metrics"))
	if e, _ := metricsFault["error"].(string); !strings.Contains(e, held.Addr().String()) || !strings.Contains(e, "address already in use") {
		t.Errorf("metrics fault event = %v, want the error naming %s in use", metricsFault, held.Addr())
	}
	if kept, _ := os.ReadFile(b.socket); string(kept) != "not a socket\n" {
		t.Errorf("the regular file at the API's socket path now holds %q: podd must not remove or replace it", kept)
	}
	mqtttest.WaitFor(t, 5*time.Second, "status aborted at the hub", func() bool {
		st := lastStatus(received(t, sub, b.podID))
		return st["state"] == "aborted" && st["online"] == true
	})
	if st := retainedStatus(t, m, b.podID, "hub-broken-parts-late"); st["state"] != "aborted" || st["online"] != true {
		t.Errorf("retained status = %v, want online and aborted", st)
	}

	out := d.output()
	for _, p := range []string{"api", "metrics"} {
		if !logged(out, "part failed; retrying", "part="+p) {
			t.Errorf(`podd's log has no "part failed; retrying" with part=%s`, p)
		}
	}
	select {
	case err := <-d.exited:
		t.Fatalf("podd exited (%v) while its API and metrics were broken", err)
	default:
	}
	d.stop()
	if kept, _ := os.ReadFile(b.socket); string(kept) != "not a socket\n" {
		t.Errorf("after the stop, the regular file at the API's socket path holds %q: podd must not remove or replace it", kept)
	}
}

// watchingWithoutStore checks what a pod whose store does not open shows,
// before and after its abort: the store's part failed with wantErr, the
// state "starting" then "aborted" with the latch unknown, the outputs held,
// the events kept in memory, the strip at the safe light, the hub told "aborted" but sent
// no abort event (nothing is sent that is not stored first).
func watchingWithoutStore(t *testing.T, b *bench, m *mqtttest.Mosquitto, sub *mqtttest.Subscriber, hubID string, wantErr ...string) {
	t.Helper()
	var st api.Status
	mqtttest.WaitFor(t, 10*time.Second, "the store's part to fail", func() bool {
		st = b.status()
		return part(t, st, "store").State == "failed"
	})
	store := part(t, st, "store")
	for _, w := range wantErr {
		if !strings.Contains(store.Error, w) {
			t.Errorf("store part error = %q, want it to contain %q", store.Error, w)
		}
	}
	if store.Failures < 1 {
		t.Errorf("store part %+v: want at least one failure counted", store)
	}
	if st.State != "starting" || st.Safety.Latch != "unknown" || !st.Outputs.Safe || !holdsAll(st.Outputs.Holds, "latch_unknown") {
		t.Errorf("before the abort, with no store: state %q latch %q outputs %+v; want starting, unknown, held safe for latch_unknown",
			st.State, st.Safety.Latch, st.Outputs)
	}

	mqtttest.WaitFor(t, abortWithin, "the abort without a store", func() bool {
		st = b.status()
		return st.State == "aborted" && st.Uplink.Unstored >= 2
	})
	if st.Safety.Latched == nil || st.Safety.Latched.Rule != "heart_rate_high" || st.Safety.Latch != "unknown" {
		t.Errorf("safety after the abort = %+v, want heart_rate_high latched, latch unknown", st.Safety)
	}
	if !st.Outputs.Safe || !holdsAll(st.Outputs.Holds, "latched", "latch_unknown") {
		t.Errorf("outputs after the abort = %+v, want safe, held for latched and latch_unknown", st.Outputs)
	}
	if st.Sim == nil || !st.Sim.StripSafe {
		t.Errorf("sim after the abort = %+v, want the strip at the safe light", st.Sim)
	}
	if p := part(t, st, "store"); p.State != "failed" {
		t.Errorf("store part after the abort = %+v, want failed", p)
	}
	mqtttest.WaitFor(t, 5*time.Second, "status aborted at the hub", func() bool {
		st := lastStatus(received(t, sub, b.podID))
		return st["state"] == "aborted" && st["online"] == true
	})
	if rs := retainedStatus(t, m, b.podID, hubID+"-late"); rs["state"] != "aborted" || rs["online"] != true {
		t.Errorf("retained status = %v, want online and aborted", rs)
	}
	if e, ok := find(received(t, sub, b.podID), "events", nil); ok {
		t.Errorf("event %v at the hub although the store never opened: an event is sent only once stored", e)
	}
}

func TestAStoreThatCannotOpenStillWatches(t *testing.T) {
	t.Parallel()

	t.Run("its directory cannot exist", func(t *testing.T) {
		t.Parallel()
		m := mqtttest.Start(t, false)
		b := tachycardiaBench(t, m)
		sub := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "hub-no-store", true)
		blocker := filepath.Join(b.dir, "blocker")
		if err := os.WriteFile(blocker, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		metricsPort := mqtttest.FreePort(t)
		b.extraEnv = append(b.extraEnv,
			"PODD_STORAGE_PATH="+filepath.Join(blocker, "podd.db"),
			fmt.Sprintf("PODD_API_METRICS_LISTEN=127.0.0.1:%d", metricsPort),
		)
		d := b.start()
		watchingWithoutStore(t, b, m, sub, "hub-no-store", blocker, "not a directory")
		code, body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", metricsPort))
		if code != 503 || !strings.Contains(body, "store failed") || !strings.Contains(body, "not a directory") {
			t.Errorf("GET /healthz = %d %q, want 503 naming the store's failure", code, body)
		}
		if !logged(d.output(), "part failed; retrying", "part=store") {
			t.Error(`podd's log has no "part failed; retrying" with part=store`)
		}
		d.stop()
	})

	t.Run("it is locked by another process", func(t *testing.T) {
		t.Parallel()
		m := mqtttest.Start(t, false)
		b := tachycardiaBench(t, m)
		sub := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "hub-locked-store", true)
		path := filepath.Join(b.dir, "podd.db")
		lock, err := journal.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		locked := true
		defer func() {
			if locked {
				lock.Close()
			}
		}()
		d := b.start()
		watchingWithoutStore(t, b, m, sub, "hub-locked-store", path, "locked by another process")

		if err := lock.Close(); err != nil {
			t.Fatal(err)
		}
		locked = false
		released := time.Now()
		if _, ok := find(received(t, sub, b.podID), "events", isAbort); ok {
			t.Fatal("the abort event reached the hub while the store was still locked")
		}
		// The store is retried with backoff (1 s doubling): the next attempt
		// may be some 20 s away.
		mqtttest.WaitFor(t, 40*time.Second, "the abort at the hub once the store opened", func() bool {
			_, ok := find(received(t, sub, b.podID), "events", isAbort)
			return ok
		})
		var st api.Status
		mqtttest.WaitFor(t, 5*time.Second, "the latch stored", func() bool {
			st = b.status()
			return st.Safety.Latch == "stored" && st.Uplink.Unstored == 0
		})
		store := part(t, st, "store")
		if store.State != "up" || store.Since.Before(released) {
			t.Errorf("store part = %+v, want up since after the lock was released at %v", store, released)
		}
		abort, _ := find(received(t, sub, b.podID), "events", isAbort)
		detected, err := time.Parse(time.RFC3339Nano, fmt.Sprint(abort["detected_at"]))
		if err != nil || !detected.Before(released) || abort["ts"] != abort["detected_at"] {
			t.Errorf("abort event %v: want detected_at (and ts) the time of the abort, before the lock was released at %v", abort, released)
		}
		// The events kept in memory were stored in the order they happened:
		// the store's fault, the abort, then the change of state it caused.
		toAborted := func(e map[string]any) bool { return e["type"] == "state" && e["to"] == "aborted" }
		mqtttest.WaitFor(t, 5*time.Second, "the store's fault and the state event to aborted at the hub", func() bool {
			msgs := received(t, sub, b.podID)
			_, fault := find(msgs, "events", isFault("store"))
			_, state := find(msgs, "events", toAborted)
			return fault && state
		})
		msgs := received(t, sub, b.podID)
		fault, _ := find(msgs, "events", isFault("store"))
		state, _ := find(msgs, "events", toAborted)
		if !(fault["seq"].(float64) < abort["seq"].(float64) && abort["seq"].(float64) < state["seq"].(float64)) {
			t.Errorf("seqs: store fault %v, abort %v, state to aborted %v; want them in the order they happened",
				fault["seq"], abort["seq"], state["seq"])
		}
		if e, _ := fault["error"].(string); !strings.Contains(e, "locked by another process") {
			t.Errorf("store fault event %v, want the error saying the store is locked", fault)
		}
		d.stop()
	})
}

// mountTmpfs mounts a tmpfs of size at dir until the test ends, or skips the
// test when this process may not mount.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size)
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		t.Skipf("cannot mount a tmpfs to fill (needs root or CAP_SYS_ADMIN): %v", err)
	}
	if err != nil {
		t.Fatalf("mount tmpfs at %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// A full disk does not stop a store that only reuses its own pages: bbolt
// overwrites the pages it freed, which the file system already holds, so a
// connected pod whose outbox drains at once keeps storing on a full tmpfs
// (as on a full ext4). The store refuses writes once it must grow, as it
// does when records pile up for a hub that does not acknowledge them: here
// the broker is frozen while the disk fills.
func TestDiskFullAbortReachesTheHubOnceSpaceIsBack(t *testing.T) {
	t.Parallel()
	_, _ = binaries(t) // skips with -short before mounting anything
	m := mqtttest.Start(t, false)
	t.Cleanup(m.Thaw)
	b := tachycardiaBench(t, m)
	disk := filepath.Join(b.dir, "disk")
	if err := os.Mkdir(disk, 0o700); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, disk, "512k")
	sub := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "hub-disk-full", true)
	b.extraEnv = append(b.extraEnv,
		"PODD_STORAGE_PATH="+filepath.Join(disk, "podd.db"),
		// The outbox grows fast while the hub does not acknowledge.
		"PODD_TELEMETRY_INTERVAL=100ms",
	)

	d := b.start()
	mqtttest.WaitFor(t, 10*time.Second, "the store up and the uplink connected", func() bool {
		st := b.status()
		return part(t, st, "store").State == "up" && st.Uplink.Connected
	})
	m.Freeze()

	filler, err := os.Create(filepath.Join(disk, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer filler.Close()
	block := bytes.Repeat([]byte{0xA5}, 4096)
	fill := func() error {
		for {
			if _, err := filler.Write(block); err != nil {
				return err
			}
		}
	}
	if err := fill(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the tmpfs: %v, want ENOSPC", err)
	}
	if st := b.status(); st.State == "aborted" {
		t.Fatalf("aborted before the disk was full: the test cannot tell a stored abort from one kept in memory: %+v", st)
	}
	// Telemetry is refused from the first commit of the journal's batch that
	// fails, within its CommitInterval (10 s).
	mqtttest.WaitFor(t, 25*time.Second, "the store to refuse telemetry for want of space", func() bool {
		_ = fill() // anything freed meanwhile is taken again
		return logged(d.output(), "telemetry not recorded") && strings.Contains(d.output(), "no space left on device")
	})

	// The abort event cannot be stored: it stays in memory. The latch may
	// or may not be: a latch is a rewrite of the small meta bucket, which
	// fits in the pages the store's last commit freed, where an outbox that
	// must grow does not.
	var st api.Status
	mqtttest.WaitFor(t, abortWithin, "the abort kept in memory", func() bool {
		_ = fill()
		st = b.status()
		return st.State == "aborted" && st.Uplink.Unstored >= 1 && (st.Safety.Latch == "unsaved" || st.Safety.Latch == "stored")
	})
	t.Logf("on the full disk after the abort: latch %s, %d events in memory", st.Safety.Latch, st.Uplink.Unstored)
	if st.Safety.Latched == nil || st.Safety.Latched.Rule != "heart_rate_high" || !st.Outputs.Safe || st.Sim == nil || !st.Sim.StripSafe {
		t.Fatalf("status on a full disk after the abort = %+v (sim %+v), want heart_rate_high latched, outputs safe, strip at the safe light", st, st.Sim)
	}
	if e, ok := find(received(t, sub, b.podID), "events", isAbort); ok {
		t.Fatalf("abort event %v at the hub while the disk is full: it must be stored before it is sent", e)
	}
	detectedAt := uplink.FormatTime(st.Safety.Latched.At)

	if err := filler.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filler.Name()); err != nil {
		t.Fatal(err)
	}
	mqtttest.WaitFor(t, 10*time.Second, "the latch stored and nothing left in memory once space is back", func() bool {
		st = b.status()
		return st.Safety.Latch == "stored" && st.Uplink.Unstored == 0
	})
	if e, ok := find(received(t, sub, b.podID), "events", isAbort); ok {
		t.Fatalf("abort event %v at a frozen hub", e)
	}
	m.Thaw()
	mqtttest.WaitFor(t, 20*time.Second, "the abort at the hub", func() bool {
		_, ok := find(received(t, sub, b.podID), "events", isAbort)
		return ok
	})
	msgs := received(t, sub, b.podID)
	abort, _ := find(msgs, "events", isAbort)
	if abort["detected_at"] != detectedAt || abort["ts"] != detectedAt {
		t.Errorf("abort event %v: want detected_at and ts %s, the time of the abort", abort, detectedAt)
	}
	// The events kept in memory were stored in the order they happened: the
	// abort, then the change of state it caused.
	toAborted := func(e map[string]any) bool { return e["type"] == "state" && e["to"] == "aborted" }
	mqtttest.WaitFor(t, 5*time.Second, "the state event to aborted at the hub", func() bool {
		_, ok := find(received(t, sub, b.podID), "events", toAborted)
		return ok
	})
	state, _ := find(received(t, sub, b.podID), "events", toAborted)
	if state["seq"].(float64) <= abort["seq"].(float64) || state["ts"] != detectedAt {
		t.Errorf("state event %v after abort %v: want it stored after the abort, at the abort's time", state, abort)
	}
	// The telemetry refused meanwhile is reported, not silently lost.
	refused := func(e map[string]any) bool { return e["type"] == "dropped" && e["reason"] == "store_refused" }
	mqtttest.WaitFor(t, 5*time.Second, "the report of the telemetry the store refused", func() bool {
		_, ok := find(received(t, sub, b.podID), "events", refused)
		return ok
	})
	if !logged(d.output(), "store refuses writes; events kept in memory and retried") {
		t.Error(`podd's log has no "store refuses writes; events kept in memory and retried"`)
	}
	d.stop()
}

// timeoutStopSec reads TimeoutStopSec from podd's systemd unit: the time
// systemd gives podd to stop before it SIGKILLs it.
func timeoutStopSec(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile("../../systemd/podd.service")
	if err != nil {
		t.Fatal(err)
	}
	var section string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			section = line
			continue
		}
		v, ok := strings.CutPrefix(line, "TimeoutStopSec=")
		if !ok || section != "[Service]" {
			continue
		}
		v = strings.TrimSpace(v)
		if n, err := strconv.Atoi(v); err == nil { // systemd reads a bare number as seconds
			return time.Duration(n) * time.Second
		}
		d, err := time.ParseDuration(strings.ReplaceAll(strings.ReplaceAll(v, " ", ""), "min", "m"))
		if err != nil || d <= 0 {
			t.Fatalf("systemd/podd.service: TimeoutStopSec=%s: not a time span this test reads (%v)", v, err)
		}
		return d
	}
	t.Fatal("systemd/podd.service does not set TimeoutStopSec in [Service]: podd's stop budget is undefined")
	return 0
}

// stopBudget is the deadline for podd to exit after SIGTERM: systemd's, less
// a second of margin.
func stopBudget(t *testing.T) time.Duration {
	return timeoutStopSec(t) - time.Second
}

func TestStopWithinBudgetWithTheBrokerFrozen(t *testing.T) {
	t.Parallel()
	budget := stopBudget(t)
	m := mqtttest.Start(t, false)
	t.Cleanup(m.Thaw)
	b := tachycardiaBench(t, m)
	d := b.start()
	mqtttest.WaitFor(t, 10*time.Second, "the store up and the uplink connected", func() bool {
		st := b.status()
		return part(t, st, "store").State == "up" && st.Uplink.Connected
	})
	m.Freeze()
	// Records sent into the frozen broker wait for acknowledgements that
	// never come.
	mqtttest.WaitFor(t, 10*time.Second, "records unacknowledged by the frozen broker", func() bool {
		return b.status().Uplink.Outbox >= 2
	})

	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	termAt := time.Now()
	deadline := time.NewTimer(budget)
	defer deadline.Stop()
	select {
	case err := <-d.exited:
		if err != nil {
			t.Fatalf("podd exited with %v after SIGTERM, want 0", err)
		}
	case <-deadline.C:
		t.Fatalf("podd still running %v after SIGTERM with the broker frozen: systemd (TimeoutStopSec %v) would SIGKILL it",
			budget, timeoutStopSec(t))
	}
	t.Logf("podd stopped %v after SIGTERM (budget %v)", time.Since(termAt).Round(time.Millisecond), budget)
	out := d.output()
	for _, msg := range []string{"pod stopped", "podd stopped"} {
		if !logged(out, msg) {
			t.Errorf("podd's log has no %q", msg)
		}
	}
}

// fakeWatchdog records the calls runPod makes on the hardware watchdog.
type fakeWatchdog struct {
	mu    sync.Mutex
	calls []string // "ping" and "close", in order
}

func (f *fakeWatchdog) Ping() error { f.record("ping"); return nil }

func (f *fakeWatchdog) Close() error { f.record("close"); return nil }

func (f *fakeWatchdog) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeWatchdog) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// checkClosedOnce checks that Close was called exactly once, after every Ping.
func (f *fakeWatchdog) checkClosedOnce(t *testing.T) {
	t.Helper()
	calls := f.log()
	closes := 0
	for _, c := range calls {
		if c == "close" {
			closes++
		}
	}
	i := slices.Index(calls, "close")
	if closes != 1 || i != len(calls)-1 || i < 1 {
		t.Errorf("hardware watchdog calls %v: want pings, then exactly one close, and no ping after it", calls)
	}
}

func TestAStopClosesTheHardwareWatchdogCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole pod in process for several seconds")
	}
	t.Parallel()
	budget := stopBudget(t)
	m := mqtttest.Start(t, false)
	t.Cleanup(m.Thaw)
	m.Freeze()

	dir := t.TempDir()
	sockDir, err := os.MkdirTemp("", "podd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	scenario := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(scenario, []byte(tachycardiaFromTheStart), 0o600); err != nil {
		t.Fatal(err)
	}
	const device = "/dev/watchdog-of-this-test"
	cfg, err := configs.Parse(fmt.Appendf(nil, `
pod: {id: inproc-pod}
hardware: {mode: sim, led_count: 60}
uplink: {broker: %q}
storage: {path: %q}
api: {socket: %q}
sim: {scenario: %q}
telemetry: {interval: 1s}
watchdog: {device: %q, timeout: 5s}
log: {level: info}
`, m.URL(), filepath.Join(dir, "podd.db"), filepath.Join(sockDir, "podd.sock"), scenario, device), nil)
	if err != nil {
		t.Fatal(err)
	}

	fake := &fakeWatchdog{}
	opened := 0
	var openedWith string
	d := deps{openWatchdog: func(path string, timeout time.Duration) (hardwareWatchdog, error) {
		opened++
		openedWith = fmt.Sprintf("%s %v", path, timeout)
		return fake, nil
	}}
	var out bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &out}, nil))
	output := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("podd output:\n%s", output())
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ret := make(chan error, 1)
	go func() { ret <- runPod(ctx, cfg, log, d) }()
	// Registered after runPod started, so it runs once the test is over:
	// a ping that came after runPod returned is caught too.
	t.Cleanup(func() { fake.checkClosedOnce(t) })

	mqtttest.WaitFor(t, 10*time.Second, "pings of the hardware watchdog", func() bool {
		return len(fake.log()) >= 2
	})
	cancel()
	stopAt := time.Now()
	deadline := time.NewTimer(budget)
	defer deadline.Stop()
	select {
	case err := <-ret:
		if err != nil {
			t.Errorf("runPod returned %v after a clean stop, want nil", err)
		}
	case <-deadline.C:
		t.Fatalf("runPod still running %v after its context ended (broker frozen): systemd would SIGKILL podd", budget)
	}
	t.Logf("runPod returned %v after the stop (budget %v); watchdog calls %v", time.Since(stopAt).Round(time.Millisecond), budget, fake.log())
	if opened != 1 || openedWith != device+" 5s" {
		t.Errorf("openWatchdog called %d times, with %q; want once with %q", opened, openedWith, device+" 5s")
	}
	fake.checkClosedOnce(t)
	for _, msg := range []string{"pod stopped", "podd stopped"} {
		if !logged(output(), msg) {
			t.Errorf("runPod's log has no %q", msg)
		}
	}
}
