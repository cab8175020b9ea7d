package controller

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/uplink"
)

// journalUplink is a fakeUplink whose events and replies also go through a
// real uplink into a real journal, as in podd: what the pod audits reaches
// the audit log, and an event that clears the latch clears the journal's.
type journalUplink struct {
	*fakeUplink
	real *uplink.Uplink
}

func (u journalUplink) Event(e uplink.Event, at time.Time) (uint64, error) {
	if e.ClearLatch {
		// The journal clears its latch in the event's transaction; the
		// fake records the event once it is stored.
		n, err := u.real.Event(e, at)
		if err == nil {
			u.fakeUplink.record(e, at)
		}
		return n, err
	}
	if _, err := u.fakeUplink.Event(e, at); err != nil {
		return 0, err
	}
	return u.real.Event(e, at)
}

func (u journalUplink) Reply(r uplink.Reply, at time.Time) (uint64, error) {
	if _, err := u.fakeUplink.Reply(r, at); err != nil {
		return 0, err
	}
	return u.real.Reply(r, at)
}

// Every command (refused ones too, signed or not), every consent change, a
// panic, an abort and its acknowledgement are entries of the audit log,
// after the start's config, in the order they happened, and the chain
// verifies; the events that report them carry their links, and nothing
// else is audited.
func TestWhatThePodAuditsIsInTheChain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		s, err := journal.Open(filepath.Join(t.TempDir(), "podd.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		slot := journal.NewSlot()
		if err := slot.Set(s); err != nil {
			t.Fatal(err)
		}
		defer slot.Close()
		real, err := uplink.New(uplink.Config{Broker: "tcp://127.0.0.1:1", Pod: "pod-1", Boot: "b"}, slot)
		if err != nil {
			t.Fatal(err)
		}
		h := newHub(t)
		fake := &fakeUplink{}
		fake.connected.Store(true)
		r := newRigWith(t, tachycardia, nil, rigOpts{up: fake, uplink: journalUplink{fake, real}, hubKeys: h.keys, store: slot})

		until(start, 18*time.Second)
		if _, err := r.pod.GrantConsent("api", time.Hour); err != nil {
			t.Fatal(err)
		}
		send(r, h.sign(h.trusted, hubcmd.Identify{Duration: 10 * time.Second}).Raw) // signed, refused: not_supported
		send(r, h.sign(h.forger, hubcmd.MergeEnd{Session: "m-1"}).Raw)              // forged: refused unauthenticated
		r.pod.Panic("button")
		until(start, 70*time.Second) // heart_rate_high latched
		until(start, 125*time.Second)
		if _, err := r.pod.Ack(context.Background(), techAck); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		synctest.Wait()
		r.stop()

		rep, err := slot.VerifyAudit()
		if err != nil || !rep.Intact() {
			t.Fatalf("VerifyAudit = %+v (broken %+v), %v", rep, rep.Broken, err)
		}
		if viaPod, err := r.pod.Audit(); err != nil || viaPod.Last != rep.Last || viaPod.LastHash != rep.LastHash {
			t.Fatalf("Pod.Audit = %+v, %v; want the store's report %+v", viaPod, err, rep)
		}
		es, err := slot.AuditEntries(0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			var v struct {
				Type   string
				Fields map[string]any
			}
			if err := json.Unmarshal(e.Raw, &v); err != nil {
				t.Fatal(err)
			}
			d := v.Type
			switch v.Type {
			case "consent":
				d += " " + v.Fields["action"].(string)
			case "command":
				d += " ok=" + map[bool]string{true: "true", false: "false"}[v.Fields["ok"].(bool)]
				if c, ok := v.Fields["cmd"].(string); ok {
					d += " " + c
				}
				d += " signed=" + map[bool]string{true: "true", false: "false"}[v.Fields["signed"].(bool)]
			case "abort", "ack":
				d += " " + v.Fields["rule"].(string)
			}
			got = append(got, d)
		}
		want := []string{
			"config",
			"consent granted",
			"command ok=false identify signed=true",
			"command ok=false signed=false",
			"panic",
			"consent withdrawn",
			"abort heart_rate_high",
			"ack heart_rate_high",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("audit entries\n%q\nwant\n%q", got, want)
		}
		// The stored events: the audited ones carry their entry's link, in
		// order; the others (state changes, warnings) none.
		recs, err := slot.Pending(0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for _, rec := range recs {
			var p struct {
				Type  string
				Audit *journal.AuditLink
			}
			if err := json.Unmarshal(rec.Payload, &p); err != nil || p.Type == "" {
				continue // telemetry goes to the fake; replies have no type
			}
			if p.Audit == nil {
				if p.Type != "state" && p.Type != "warning" {
					t.Errorf("a %s event without an audit link", p.Type)
				}
				continue
			}
			if i >= len(es) || p.Audit.N != es[i].N || p.Audit.Hash != es[i].Hash {
				t.Fatalf("event %s carries %+v; want the link of entry %d", p.Type, p.Audit, i+1)
			}
			i++
		}
		if i != len(es) {
			t.Fatalf("%d audited events stored, %d entries", i, len(es))
		}
	})
}
