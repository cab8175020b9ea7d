package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/internal/mqtttest"
)

// TestACommandReplayedAfterARestartIsRefused: the real podd keeps the jtis
// of the commands it accepted in its store, so a signed command accepted
// before a restart is refused "replayed" after it (a pod that kept them in
// memory would accept it again), while a new command is accepted.
func TestACommandReplayedAfterARestartIsRefused(t *testing.T) {
	t.Parallel()
	podd, _, hubctl := binaries(t)
	m := mqtttest.Start(t, false)
	_, public, keysIn := hubKeys(t, hubctl, "hub-replay")
	signer, err := hubclient.NewSigner(keysIn[0], hubclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hub, err := hubclient.Connect(m.URL(), "hub-replay", hubclient.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()

	// request sends tok until the pod answers (it answers once it is
	// connected and subscribed).
	request := func(what string, tok hubclient.Token) hubclient.Reply {
		t.Helper()
		var r hubclient.Reply
		mqtttest.WaitFor(t, 30*time.Second, what, func() bool {
			var err error
			r, err = hub.Request("e2e-pod", tok, 2*time.Second)
			return err == nil
		})
		return r
	}

	store := t.TempDir()
	_, _, stop := startPodIn(t, store, podd, m.URL(), public, calmScenario)
	tok, err := signer.Sign(hubcmd.TelemetryInterval{Interval: 2 * time.Second}, "e2e-pod")
	if err != nil {
		t.Fatal(err)
	}
	if r := request("the first delivery answered", tok); !r.OK {
		t.Fatalf("telemetry/interval before the restart: %+v", r)
	}
	stop()

	_, podLog, _ := startPodIn(t, store, podd, m.URL(), public, calmScenario)
	r := request("the replay answered", tok)
	if r.OK || r.Reason() != string(hubcmd.ReasonReplayed) || r.JTI != tok.ID {
		t.Fatalf("the command replayed after the restart: %+v; want refused %q", r, hubcmd.ReasonReplayed)
	}
	fresh, err := signer.Sign(hubcmd.TelemetryInterval{Interval: 2 * time.Second}, "e2e-pod")
	if err != nil {
		t.Fatal(err)
	}
	if r := request("a new command answered", fresh); !r.OK {
		t.Fatalf("a new command after the restart: %+v", r)
	}
	if !strings.Contains(podLog.String(), `"hub command refused"`) {
		t.Fatalf("the pod did not log the refusal:\n%s", podLog.String())
	}
}
