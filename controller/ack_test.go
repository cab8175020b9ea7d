package controller

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/uplink"
)

// techAck is a technician's acknowledgement through the local API, as the
// api package fills it from the socket's peer credentials.
var techAck = AckSource{Kind: AckByAPI, UID: new(uint32(1000)), PID: new(int32(4242)), User: "tech", Note: "checked the sleeper: HR back to 64"}

func TestCleanAckNote(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"", "", ""},
		{"checked the sleeper", "checked the sleeper", ""},
		{"  two\tlines\r\nof  text \n", "two lines of text", ""},
		{"électrode refixée, SpO2 97 %", "électrode refixée, SpO2 97 %", ""},
		{strings.Repeat("é", MaxAckNote), strings.Repeat("é", MaxAckNote), ""},
		{strings.Repeat("é", MaxAckNote+1), "", "note is 201 characters long, more than 200"},
		{strings.Repeat(" ", 500) + "ok", "ok", ""},
		{"red \x1b[31mtext", "", "note has the control or format character U+001B at byte 4: write plain text"},
		{"a\x00b", "", "note has the control or format character U+0000 at byte 1: write plain text"},
		{"user\u202Eevil", "", "note has the control or format character U+202E at byte 4: write plain text"},
		{"zero\u200Bwidth", "", "note has the control or format character U+200B at byte 4: write plain text"},
		{"bad \xff utf-8", "", "note is not valid UTF-8"},
	}
	for _, tt := range tests {
		got, err := CleanAckNote(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err || got != "" {
				t.Errorf("CleanAckNote(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CleanAckNote(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzCleanAckNote: whatever the text, a note it accepts is at most
// MaxAckNote runes of printable UTF-8 without runs of spaces or spaces at
// its ends, and cleaning it again changes nothing.
func FuzzCleanAckNote(f *testing.F) {
	for _, s := range []string{"", "ok", " a \n b ", "\x1b[2J", "\u202e", "\xff", strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := CleanAckNote(in)
		if err != nil {
			if out != "" {
				t.Fatalf("error %v with a note %q", err, out)
			}
			return
		}
		if again, err := CleanAckNote(out); err != nil || again != out {
			t.Fatalf("cleaning %q again gave %q, %v", out, again, err)
		}
		if strings.Contains(out, "  ") || strings.TrimSpace(out) != out || len([]rune(out)) > MaxAckNote {
			t.Fatalf("note %q not clean", out)
		}
		if err := (AckSource{Kind: AckByButton, Note: out}).check(); err != nil {
			t.Fatalf("a clean note refused: %v", err)
		}
	})
}

// journalRig is a rig whose store is the real bbolt file at path, and
// whose events go through a real uplink into it (audited ones into its
// audit log). close stops the pod and closes the file.
func journalRig(t *testing.T, path, scenarioYAML string, opts rigOpts) (r *rig, slot *journal.Slot, close func()) {
	t.Helper()
	s, err := journal.Open(path, opts.journal)
	if err != nil {
		t.Fatal(err)
	}
	slot = journal.NewSlot()
	if err := slot.Set(s); err != nil {
		t.Fatal(err)
	}
	real, err := uplink.New(uplink.Config{Broker: "tcp://127.0.0.1:1", Pod: "pod-1", Boot: "b"}, slot)
	if err != nil {
		t.Fatal(err)
	}
	if opts.up == nil {
		opts.up = &fakeUplink{}
	}
	opts.uplink, opts.store = journalUplink{opts.up, real}, slot
	if opts.keepHistory {
		opts.history = slot
	}
	r = newRigWith(t, scenarioYAML, nil, opts)
	return r, slot, func() {
		r.stop()
		if err := slot.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// auditEntries decodes the audit log's entries of type typ.
func auditEntries(t *testing.T, slot *journal.Slot, typ string) []auditEntryView {
	t.Helper()
	es, err := slot.AuditEntries(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditEntryView
	for _, e := range es {
		var v auditEntryView
		if err := json.Unmarshal(e.Raw, &v); err != nil {
			t.Fatal(err)
		}
		if v.Type == typ {
			out = append(out, v)
		}
	}
	return out
}

type auditEntryView struct {
	TS     string         `json:"ts"`
	Type   string         `json:"type"`
	Fields map[string]any `json:"fields"`
}

// An acknowledgement names who asked: the ack event, its audit entry and
// the status carry the cleared abort's rule and detected_at, the source,
// the caller's uid, pid and user, the note, and the wall-clock time of the
// ack (the entry's ts).
func TestAnAckIsAuditedWithWhoWhenAndTheAbortItCleared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r, slot, closeAll := journalRig(t, filepath.Join(t.TempDir(), "podd.db"), tachycardia, rigOpts{})
		defer closeAll()
		until(start, 125*time.Second)
		a := r.pod.Status().Safety.Latched
		if a == nil || a.Rule != safety.RuleHeartRateHigh {
			t.Fatalf("latched %+v, want heart_rate_high", a)
		}
		if r.pod.Status().Safety.LastAck != nil {
			t.Fatal("a last ack before any ack")
		}
		cleared, err := r.pod.Ack(context.Background(), techAck)
		if err != nil || cleared.Rule != a.Rule || !cleared.At.Equal(a.At) {
			t.Fatalf("Ack = %+v, %v; want %+v cleared", cleared, err, a)
		}
		ackAt := start.Add(125 * time.Second)
		synctest.Wait()

		want := map[string]any{
			"rule": "heart_rate_high", "detected_at": uplink.FormatTime(a.At), "by": "local", "source": "api",
			"uid": float64(1000), "pid": float64(4242), "user": "tech", "note": "checked the sleeper: HR back to 64",
		}
		es := auditEntries(t, slot, "ack")
		if len(es) != 1 || es[0].TS != ackAt.UTC().Format("2006-01-02T15:04:05.000000000Z") || !reflect.DeepEqual(es[0].Fields, want) {
			t.Fatalf("ack audit entries %+v; want one at %s with %v", es, ackAt, want)
		}
		// The event as the hub gets it: the same fields and its audit link.
		recs, err := slot.Pending(0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var ev map[string]any
		for _, rec := range recs {
			var m map[string]any
			if json.Unmarshal(rec.Payload, &m) == nil && m["type"] == "ack" {
				ev = m
			}
		}
		if ev == nil || ev["ts"] != uplink.FormatTime(ackAt) {
			t.Fatalf("ack event %v; want one at %s", ev, ackAt)
		}
		for k, v := range want {
			if !reflect.DeepEqual(ev[k], v) {
				t.Errorf("ack event %s = %v, want %v", k, ev[k], v)
			}
		}
		la := r.pod.Status().Safety.LastAck
		if la == nil || la.Rule != a.Rule || !la.DetectedAt.Equal(a.At) || !la.At.Equal(ackAt) || !reflect.DeepEqual(la.AckSource, techAck) {
			t.Fatalf("status last ack %+v; want %s detected %s, at %s, by %+v", la, a.Rule, a.At, ackAt, techAck)
		}
	})
}

// A source that is not valid is an error that changes nothing: the latch
// stays, in the watchdog and in the store, and nothing is audited.
func TestAnAckFromAnInvalidSourceChangesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r, slot, closeAll := journalRig(t, filepath.Join(t.TempDir(), "podd.db"), tachycardia, rigOpts{})
		defer closeAll()
		until(start, 125*time.Second)
		for _, tt := range []struct {
			src  AckSource
			want string
		}{
			{AckSource{}, `controller: ack: acknowledgement source "": want api or button`},
			{AckSource{Kind: "hub"}, `controller: ack: acknowledgement source "hub": want api or button`},
			{AckSource{Kind: AckByAPI, User: "root"}, "controller: ack: an acknowledgement through the local API needs the caller's uid and pid"},
			{AckSource{Kind: AckByButton, UID: new(uint32(0))}, "controller: ack: a button has no uid, pid or user"},
			{AckSource{Kind: AckByButton, Note: " padded "}, `controller: ack: note " padded " is not clean (CleanAckNote gives "padded")`},
			{AckSource{Kind: AckByButton, Note: "\x1b[2J"}, "controller: ack: note has the control or format character U+001B at byte 0: write plain text"},
		} {
			if _, err := r.pod.Ack(context.Background(), tt.src); err == nil || err.Error() != tt.want || errors.Is(err, ErrRefused) {
				t.Errorf("Ack(%+v) = %v; want %q", tt.src, err, tt.want)
			}
		}
		synctest.Wait()
		if st := r.pod.Status(); st.State != StateAborted || st.Safety.Latch != LatchStored || st.Safety.LastAck != nil {
			t.Fatalf("status after the bad acks %+v; want aborted, the latch stored, no ack", st.Safety)
		}
		if _, ok, err := slot.Latch(); !ok || err != nil {
			t.Fatalf("stored latch gone after bad acks: %v, %v", ok, err)
		}
		if es := auditEntries(t, slot, "ack"); len(es) != 0 {
			t.Fatalf("ack entries %+v after bad acks", es)
		}
	})
}

// The latch outlives the daemon on the real bbolt file: an abort, a stop,
// a start again on the same file with the vitals back to normal: still
// aborted, the outputs in their safe state (dark), the abort not reported
// twice; an ack then clears it, and the file holds no latch any more, even
// after another restart.
func TestTheLatchOutlivesARestartOnTheSameFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podd.db")
	var latched safety.Abort
	var acked *LastAck
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r, slot, closeAll := journalRig(t, path, tachycardia, rigOpts{})
		until(start, 70*time.Second)
		a := r.pod.Status().Safety.Latched
		if a == nil || a.Rule != safety.RuleHeartRateHigh || r.pod.Status().Safety.Latch != LatchStored {
			t.Fatalf("status at 70 s %+v; want heart_rate_high latched and stored", r.pod.Status().Safety)
		}
		latched = *a
		closeAll()
		if _, ok, err := slot.Latch(); ok || err == nil {
			t.Fatal("the slot still answers after Close")
		}
	})
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r, slot, closeAll := journalRig(t, path, calm, rigOpts{})
		defer closeAll()
		until(start, 30*time.Second) // 30 s of normal vitals: more than the settling time
		st := r.pod.Status()
		if st.State != StateAborted || st.Safety.Latched == nil || st.Safety.Latched.Rule != latched.Rule || !st.Safety.Latched.At.Equal(latched.At) || st.Safety.Latch != LatchStored {
			t.Fatalf("status after the restart %+v; want aborted on the stored %s", st.Safety, latched.Rule)
		}
		if !st.Outputs.Safe || !slices.Contains(st.Outputs.Holds, HoldLatched) || !r.hw.Strip.Dark() {
			t.Fatalf("outputs after the restart %+v, dark %v; want safe, held by the latch", st.Outputs, r.hw.Strip.Dark())
		}
		if got := r.up.Events("abort"); len(got) != 0 {
			t.Fatalf("the stored abort reported again: %+v", got)
		}
		if la := r.pod.Status().Safety.LastAck; la != nil {
			t.Fatalf("a last ack %+v before any", la)
		}
		if _, err := r.pod.Ack(context.Background(), AckSource{Kind: AckByButton}); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		acked = r.pod.Status().Safety.LastAck
		if _, ok, err := slot.Latch(); ok || err != nil {
			t.Fatalf("stored latch after the ack: %v, %v; want none", ok, err)
		}
		synctest.Wait()
		es := auditEntries(t, slot, "ack")
		if len(es) != 1 || es[0].Fields["rule"] != latched.Rule || es[0].Fields["detected_at"] != uplink.FormatTime(latched.At) || es[0].Fields["source"] != "button" {
			t.Fatalf("ack entries %+v; want one clearing the abort of the first run, by the button", es)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r, _, closeAll := journalRig(t, path, calm, rigOpts{})
		defer closeAll()
		until(start, 15*time.Second)
		st := r.pod.Status()
		if st.State != StateIdle || st.Safety.Latched != nil || st.Safety.Latch != LatchNone {
			t.Fatalf("status after a third start %+v; want idle, nothing latched", st.Safety)
		}
		// Who cleared the last abort, and when, is read back from the
		// audit log.
		if la := st.Safety.LastAck; acked == nil || la == nil || la.Rule != acked.Rule || !la.DetectedAt.Equal(acked.DetectedAt) || !la.At.Equal(acked.At) || !reflect.DeepEqual(la.AckSource, acked.AckSource) {
			t.Fatalf("last ack after a third start %+v; want the second run's %+v", la, acked)
		}
	})
}

// No hub command clears the latch: a signed "ack" or "latch/clear" from a
// key the pod trusts is refused unknown_command, the latch stays in the
// watchdog and in the store, and each refusal is an entry of the audit
// log naming the hub, the token's jti and the reason.
func TestAHubCommandThatTriesToClearTheLatchIsRefusedAndAudited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newRawHub(t)
		up := &fakeUplink{}
		up.connected.Store(true)
		r, slot, closeAll := journalRig(t, filepath.Join(t.TempDir(), "podd.db"), tachycardia, rigOpts{up: up, hubKeys: h.keys})
		defer closeAll()
		until(start, 125*time.Second) // latched, and the vitals back within every limit: a local ack would clear it
		before := snapshot(r)
		if before.latched == "" {
			t.Fatal("not latched")
		}
		var jtis []string
		for _, claims := range []map[string]any{{"cmd": "ack"}, {"cmd": "latch/clear", "rule": "heart_rate_high"}} {
			jti, raw := h.sign(claims)
			jtis = append(jtis, jti)
			send(r, raw)
			if rep := lastReply(t, r); rep.JTI != jti || rep.OK || !strings.HasPrefix(rep.Error, "unknown_command: ") {
				t.Fatalf("reply to %v: %+v; want refused unknown_command", claims, rep)
			}
		}
		synctest.Wait()
		if after := snapshot(r); !after.equal(before) || r.pod.Status().Safety.Latch != LatchStored {
			t.Fatalf("after the hub's commands %+v (latch %s); want as before, %+v, stored", after, r.pod.Status().Safety.Latch, before)
		}
		if _, ok, err := slot.Latch(); !ok || err != nil {
			t.Fatalf("stored latch: %v, %v; want kept", ok, err)
		}
		es := auditEntries(t, slot, "command")
		if len(es) != 2 {
			t.Fatalf("command entries %+v; want the two refusals", es)
		}
		for i, e := range es {
			f := e.Fields
			if f["source"] != "hub" || f["jti"] != jtis[i] || f["signed"] != true || f["ok"] != false || !strings.HasPrefix(f["error"].(string), "unknown_command: ") {
				t.Errorf("command entry %d: %v; want jti %s from the hub, signed, refused unknown_command", i, f, jtis[i])
			}
		}
		if es := auditEntries(t, slot, "ack"); len(es) != 0 {
			t.Fatalf("ack entries %+v after the hub's commands", es)
		}
	})
}

// The acknowledgement button clears the latch only when held for its hold
// time (3 s after its 30 ms debounce) and only once the vitals are back
// within every limit: held while the heart rate is still high it is
// refused; a 1 s press, a sleeper rolling onto it, does nothing; a 3 s
// hold acknowledges at exactly its hold time, recorded as by the button.
func TestTheAckButtonClearsTheLatchOnlyWhenHeldAndSafe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, tachycardia, &memStore{})
		defer r.stop()
		until(start, 70*time.Second)
		a := r.pod.Status().Safety.Latched
		if a == nil || a.Rule != safety.RuleHeartRateHigh {
			t.Fatalf("latched %+v at 70 s, want heart_rate_high", a)
		}
		hold := func(d time.Duration) {
			r.hw.AckLine.Set(gpio.Low)
			time.Sleep(d)
			r.hw.AckLine.Set(gpio.High)
			synctest.Wait()
		}
		latched := func(when string) {
			t.Helper()
			if st := r.pod.Status(); st.State != StateAborted || st.Safety.Latched == nil || len(r.up.Events("ack")) != 0 || st.Safety.LastAck != nil {
				t.Fatalf("%s: state %s, latched %+v, ack events %d; want still aborted", when, st.State, st.Safety.Latched, len(r.up.Events("ack")))
			}
		}
		hold(4 * time.Second) // the heart rate is still about 150 bpm
		latched("held 4 s while the heart rate is high")

		until(start, 125*time.Second) // back within every limit: a local ack would succeed
		hold(time.Second)
		latched("held 1 s")

		pressed := start.Add(130 * time.Second)
		until(start, 130*time.Second)
		r.hw.AckLine.Set(gpio.Low)
		time.Sleep(30*time.Millisecond + DefaultAckHold - time.Millisecond)
		synctest.Wait()
		latched("1 ms before the hold time")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		r.hw.AckLine.Set(gpio.High)
		st := r.pod.Status()
		if st.State != StateIdle || st.Safety.Latched != nil {
			t.Fatalf("after the hold: state %s, latched %+v; want idle", st.State, st.Safety.Latched)
		}
		ackAt := pressed.Add(30*time.Millisecond + DefaultAckHold)
		want := map[string]any{"rule": "heart_rate_high", "detected_at": uplink.FormatTime(a.At), "by": "local", "source": "button"}
		if evs := r.up.Events("ack"); len(evs) != 1 || !reflect.DeepEqual(evs[0].Fields, want) {
			t.Fatalf("ack events %+v; want one with %v", evs, want)
		}
		if la := st.Safety.LastAck; la == nil || !la.At.Equal(ackAt) || la.Kind != AckByButton || !la.DetectedAt.Equal(a.At) {
			t.Fatalf("last ack %+v; want by the button at %v", la, ackAt)
		}
		if _, ok, _ := r.store.Latch(); ok {
			t.Fatal("the stored latch survived the button's ack")
		}
	})
}
