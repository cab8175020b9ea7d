package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/internal/mqtttest"
)

// TestARealPodRequiringTheHubWaitsForHubctlFollowReceipts: podd with
// uplink.require_hub publishes its status but no record while no hub is
// online; hubctl follow --receipts then gets its records from seq 1, once
// each and without a gap, and publishes receipts the pod accepts (retained,
// never above what it printed).
func TestARealPodRequiringTheHubWaitsForHubctlFollowReceipts(t *testing.T) {
	t.Parallel()
	podd, _, hubctl := binaries(t)
	m := mqtttest.Start(t, false)
	obs := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "observer", true)
	keys := t.TempDir()
	private, public := filepath.Join(keys, "hub.jwks"), filepath.Join(keys, "hub-public.json")
	if out, code := run(t, hubctl, "keygen", "--kid", "k1", "--private", private, "--public", public); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, out)
	}
	_, log := startPod(t, podd, m.URL(), public, "PODD_UPLINK_REQUIRE_HUB=true")
	records := func() []string {
		var out []string
		for _, msg := range obs.Messages() {
			if k := filepath.Base(msg.Topic()); k == "telemetry" || k == "events" || k == "reply" {
				out = append(out, msg.Topic())
			}
		}
		return out
	}
	mqtttest.WaitFor(t, 10*time.Second, "the pod's status", func() bool {
		for _, msg := range obs.Messages() {
			if msg.Topic() == hubclient.PodTopic("e2e-pod", "status") {
				return true
			}
		}
		return false
	})
	time.Sleep(3 * time.Second) // three telemetry intervals, and the pod's first events
	if r := records(); len(r) != 0 {
		t.Fatalf("%d records published with no hub online: %v\n%s", len(r), r, log.String())
	}

	cmd := exec.Command(hubctl, "follow", "--broker", m.URL(), "--pod", "e2e-pod", "--receipts", "--json", "--for", "14s")
	out := &mqtttest.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		t.Fatalf("hubctl follow --receipts: %v: %s", err, out.String())
	}
	var seqs []uint64
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var l struct {
			Update string `json:"update"`
			Kind   string `json:"kind"`
			Seq    uint64 `json:"seq"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if l.Update != "record" {
			t.Fatalf("hubctl printed %q: a gap in what the pod sent", line)
		}
		if l.Seq != 0 {
			seqs = append(seqs, l.Seq)
		}
	}
	if len(seqs) < 5 || seqs[0] != 1 || !slices.Equal(seqs, seqRangeInts(1, uint64(len(seqs)))) {
		t.Fatalf("hubctl printed seqs %v, want 1..N in order, N at least 5", seqs)
	}
	var last uint64
	for _, msg := range obs.Messages() {
		if msg.Topic() != hubclient.ReceiptTopic("e2e-pod") {
			continue
		}
		var r struct {
			Upto uint64 `json:"upto"`
		}
		if err := json.Unmarshal(msg.Payload(), &r); err != nil || r.Upto < last {
			t.Fatalf("receipt %q after %d: %v", msg.Payload(), last, err)
		}
		last = r.Upto
	}
	// Telemetry is committed every 10 s (journal.CommitInterval): the run
	// sees at least one commit, and its receipt.
	if last < 5 || last > uint64(len(seqs)) {
		t.Fatalf("last receipt up to %d; hubctl printed 1..%d", last, len(seqs))
	}
	if strings.Contains(log.String(), "receipt above every seq") || strings.Contains(log.String(), "receipt refused") {
		t.Fatalf("the pod refused a receipt:\n%s", log.String())
	}
}

func seqRangeInts(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}
