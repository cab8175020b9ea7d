package main

import (
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/uplink"
)

// kill ends podd with SIGKILL, as a power cut or the OOM killer would: no
// stop, no goodbye, no last commit. It returns once podd has exited.
func (d *daemon) kill() {
	d.t.Helper()
	if err := d.cmd.Process.Kill(); err != nil {
		d.t.Fatal(err)
	}
	select {
	case <-d.exited:
	case <-time.After(5 * time.Second):
		d.t.Fatal("podd still running 5 s after SIGKILL")
	}
}

// committedSeqs opens the store of a podd that is not running and returns
// its next seq (every seq below it was committed) and the seqs still in its
// outbox.
func committedSeqs(t *testing.T, b *bench) (next uint64, pending []uint64) {
	t.Helper()
	s, err := journal.Open(filepath.Join(b.dir, "podd.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if next, err = s.NextSeq(); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Pending(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		pending = append(pending, r.Seq)
	}
	return next, pending
}

// bySeq groups the records the hub received (telemetry and events) by seq,
// each body without historical: the uplink writes it when it sends a
// record, not when it stores it, so a record sent again on a later
// connection carries true where its first sending carried false. Everything
// else in a record is stored with it and must be identical at every
// sending.
func bySeq(msgs []message) map[uint64][]map[string]any {
	out := map[uint64][]map[string]any{}
	for _, m := range msgs {
		if m.kind == "status" {
			continue
		}
		body := maps.Clone(m.body)
		delete(body, "historical")
		seq := uint64(body["seq"].(float64))
		out[seq] = append(out[seq], body)
	}
	return out
}

// podd is SIGKILLed while its journal's group commit is open: telemetry
// made since the last commit waits in the journal's in-memory batch (up to
// its CommitInterval, 10 s, which podd does not make configurable), then
// podd starts again on the same store. What the journal guarantees (see
// "Group commit" and "Seqs" in journal/doc.go), and what is asserted:
//
//   - The uplink sends only committed records, so every seq the hub saw from
//     the killed run is below the store's committed counter C (its next seq
//     as the kill left it).
//   - Every committed record (the durable events, and the telemetry of the
//     commits before the kill) reaches the hub, before or after the restart:
//     the hub ends up with exactly the seqs 1..C-1 from the killed run.
//   - The batch is lost with the process: its telemetry was never sent, the
//     hub never saw its seqs (C and above), and the next start may hand them
//     out again, to other records. That is the one reuse allowed, and the
//     only one: the restarted run's seqs are all at or above C, so none is a
//     seq the hub saw from the killed run.
//   - A record may arrive twice (a deletion still queued at the kill is
//     lost, and the record is sent again after the restart), and then it is
//     the same record: the hub, which deduplicates on (pod, seq), never
//     holds two records under one seq. Only historical may differ.
//
// The kill comes about a second after a commit, once the outbox counts at
// least 5 records while the hub has every committed one: the batch, since
// the broker acknowledges committed records within milliseconds and the next
// commit is seconds away.
func TestAKillWithAnOpenGroupCommitReusesOnlySeqsTheHubNeverSaw(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	b := newBench(t, m.URL(), `
name: e2e-calm
baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
`)
	b.extraEnv = []string{"PODD_TELEMETRY_INTERVAL=200ms"}
	sub := mqtttest.Subscribe(t, m.URL(), "sleegation/v1/pods/e2e-pod/+", "hub-kill-batch", true)
	d := b.start()

	// The first commit of telemetry (CommitInterval after the first record)
	// shows at the hub as a burst.
	mqtttest.WaitFor(t, 20*time.Second, "the first committed telemetry at the hub", func() bool {
		_, ok := find(received(t, sub, b.podID), "telemetry", nil)
		return ok
	})
	var st api.Status
	var hubSaw []uint64
	mqtttest.WaitFor(t, 8*time.Second, "telemetry in the batch, none of it at the hub", func() bool {
		before := len(seqs(received(t, sub, b.podID)))
		st = b.status()
		hubSaw = seqs(received(t, sub, b.podID))
		return st.Uplink.Connected && st.Uplink.Outbox >= 5 && len(hubSaw) == before
	})
	d.kill()
	bootKilled := st.Boot

	next, pending := committedSeqs(t, b)
	t.Logf("at the kill: outbox %d records, the hub had %d records up to seq %d; the store had committed seqs below %d, %d of them still in its outbox",
		st.Uplink.Outbox, len(hubSaw), slices.Max(hubSaw), next, len(pending))
	if got := dedup(sorted(slices.Clone(hubSaw))); uint64(len(got)) != next-1 {
		t.Fatalf("the hub had seqs %v at the last status before the kill, the store committed seqs below %d: a commit came between, and the kill was not made with the batch open as this test means", got, next)
	}
	for _, seq := range hubSaw {
		if seq >= next {
			t.Fatalf("the hub saw seq %d from the killed run, which the store never committed (its next seq is %d)", seq, next)
		}
	}

	d = b.start()
	bootRestarted := b.status().Boot
	if bootRestarted == bootKilled {
		t.Fatalf("the restarted run has the killed run's boot %s", bootKilled)
	}
	mqtttest.WaitFor(t, 15*time.Second, "every committed seq of the killed run, and a record of the restarted one, at the hub", func() bool {
		got := bySeq(received(t, sub, b.podID))
		for seq := uint64(1); seq < next; seq++ {
			if len(got[seq]) == 0 {
				return false
			}
		}
		for _, recs := range got {
			if recs[0]["boot"] == bootRestarted {
				return true
			}
		}
		return false
	})
	d.stop()
	assertEverySeq(t, sub, b)

	got := bySeq(received(t, sub, b.podID))
	var twice []uint64
	for _, seq := range slices.Sorted(maps.Keys(got)) {
		recs := got[seq]
		for _, r := range recs[1:] {
			if !reflect.DeepEqual(r, recs[0]) {
				t.Errorf("seq %d reached the hub as two different records:\n%v\n%v", seq, recs[0], r)
			}
		}
		if len(recs) > 1 {
			twice = append(twice, seq)
		}
		switch boot := recs[0]["boot"]; {
		case boot == bootKilled && seq >= next:
			t.Errorf("seq %d of the killed run at the hub: it was never committed (next seq %d)", seq, next)
		case boot == bootRestarted && seq < next:
			t.Errorf("seq %d used again by the restarted run: the killed run had committed it", seq)
		case boot != bootKilled && boot != bootRestarted:
			t.Errorf("seq %d from boot %v, neither the killed run's %s nor the restarted one's %s", seq, boot, bootKilled, bootRestarted)
		}
	}
	var restarted []uint64
	for seq, recs := range got {
		if recs[0]["boot"] == bootRestarted {
			restarted = append(restarted, seq)
		}
	}
	t.Logf("the restarted run (boot %s) numbered from seq %d; %d records arrived twice, identical: %v",
		bootRestarted, slices.Min(restarted), len(twice), twice)
}

// podd is SIGKILLed the moment it says its abort latch is stored: the
// recorder stores the latch, then appends the abort event (a durable
// Append, a commit of its own), then marks the latch reported, so the kill
// lands during that append, or just before or after it. Restarted on the
// same store, the pod is latched again from the store (aborted, the strip
// dark, the same abort), and the hub gets the abort event:
//
//   - once: stored before the kill, or lost with it and posted again by the
//     restart, which finds the latch not marked reported;
//   - twice under one seq (sent again after the restart), identical but
//     for historical;
//   - or, when the kill fell between the event's commit and the latch's
//     mark, under two seqs, once from each run: the same abort (type,
//     rule, detail, values, limit, latency, detected_at and ts identical),
//     which the hub can tell by detected_at.
func TestAKillAsTheAbortIsStoredKeepsTheLatchAndItsEvent(t *testing.T) {
	t.Parallel()
	m := mqtttest.Start(t, false)
	b := tachycardiaBench(t, m)
	b.extraEnv = append(b.extraEnv, "PODD_SAFETY_HEART_RATE_DELAY=3s") // the abort 7 s sooner
	sub := mqtttest.Subscribe(t, m.URL(), "sleegation/v1/pods/e2e-pod/+", "hub-kill-abort", true)
	d := b.start()
	var st api.Status
	mqtttest.WaitFor(t, abortWithin, "the abort latch stored", func() bool {
		st = b.status()
		return st.Safety.Latch == "stored"
	})
	d.kill()
	if st.Safety.Latched == nil || st.Safety.Latched.Rule != "heart_rate_high" {
		t.Fatalf("latched %+v, want heart_rate_high", st.Safety.Latched)
	}
	latched := *st.Safety.Latched

	d = b.start()
	mqtttest.WaitFor(t, 10*time.Second, "the latch restored from the store", func() bool {
		st = b.status()
		return st.State == "aborted" && st.Safety.Latch == "stored"
	})
	if l := st.Safety.Latched; l == nil || l.Rule != latched.Rule || !l.At.Equal(latched.At) || !st.Sim.StripSafe {
		t.Fatalf("after the restart: latched %+v, strip safe %v; want %+v, at the safe light", l, st.Sim.StripSafe, latched)
	}
	mqtttest.WaitFor(t, 10*time.Second, "the abort event at the hub", func() bool {
		_, ok := find(received(t, sub, b.podID), "events", isAbort)
		return ok
	})
	d.stop()
	if strings.Contains(d.output(), "the stored latch is not marked reported") {
		t.Log("the kill came before the latch was marked reported; the restart reported the abort again")
	}

	got := bySeq(received(t, sub, b.podID))
	var aborts []uint64
	var first map[string]any
	for _, seq := range slices.Sorted(maps.Keys(got)) {
		recs := got[seq]
		if !isAbort(recs[0]) {
			continue
		}
		aborts = append(aborts, seq)
		for _, r := range recs[1:] {
			if !reflect.DeepEqual(r, recs[0]) {
				t.Errorf("abort event seq %d arrived as two different records:\n%v\n%v", seq, recs[0], r)
			}
		}
		t.Logf("abort event seq %d (boot %v) arrived %d times", seq, recs[0]["boot"], len(recs))
		abort := maps.Clone(recs[0])
		// An abort reported again after a restart is audited again: its
		// audit link is its own (controller's doc, "The audit log").
		if abort["audit"] == nil {
			t.Errorf("abort event seq %d has no audit link: %v", seq, recs[0])
		}
		delete(abort, "seq")
		delete(abort, "boot")
		delete(abort, "audit")
		if first == nil {
			first = abort
		} else if !reflect.DeepEqual(abort, first) {
			t.Errorf("two abort events for one abort differ:\n%v\n%v", first, abort)
		}
	}
	if len(aborts) == 0 || len(aborts) > 2 {
		t.Fatalf("abort events under seqs %v, want one, or two when the kill fell between the event and the latch's mark", aborts)
	}
	if first["detected_at"] != uplink.FormatTime(latched.At) {
		t.Errorf("abort event detected_at %v, want the latched abort's %v", first["detected_at"], latched.At)
	}
}
