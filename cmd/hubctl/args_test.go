package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A mistyped command under send is an error (exit status 1), as a
// mistyped top-level command is: not send's help with exit status 0, which
// a hub's script takes for a command sent and accepted. No broker is
// needed to tell: nothing is sent.
func TestAMistypedSendCommandIsAnError(t *testing.T) {
	for _, args := range [][]string{
		{"send", "merge-strat"},
		{"send", "--broker", "tcp://127.0.0.1:1", "--key", "absent.jwks", "--pod", "pod-1", "merge-abrot"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out strings.Builder
			root := newRoot(&out)
			root.SetArgs(args)
			err := root.Execute()
			if err == nil || !strings.Contains(err.Error(), `unknown command "`+args[len(args)-1]+`"`) {
				t.Errorf("hubctl %s = %v, want an unknown command error", strings.Join(args, " "), err)
			}
		})
	}
}

// --timeout is how long to wait for the pod's reply: 0 or less cannot be
// waited for, and is refused before anything is sent. Otherwise the
// command goes out, the pod carries it out, and hubctl exits 4 "no reply
// within 0s" (or -5s). The broker here is closed: an error about it means
// hubctl went on to send.
func TestSendRefusesATimeoutThatCannotBeWaitedFor(t *testing.T) {
	for _, timeout := range []string{"0s", "-5s"} {
		t.Run(timeout, func(t *testing.T) {
			var out strings.Builder
			root := newRoot(&out)
			root.SetArgs([]string{"send", "--broker", "tcp://127.0.0.1:1", "--key", writeKey(t), "--pod", "pod-1",
				"--timeout", timeout, "telemetry-interval", "--every", "2s"})
			err := root.Execute()
			if err == nil || !strings.Contains(err.Error(), "--timeout") {
				t.Errorf("send --timeout %s = %v, want refused for its --timeout before connecting", timeout, err)
			}
		})
	}
}

// writeKey writes a private key set for hubctl send and returns its path.
func writeKey(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	private := filepath.Join(dir, "hub.jwks")
	var out strings.Builder
	root := newRoot(&out)
	root.SetArgs([]string{"keygen", "--kid", "hub-1", "--private", private, "--public", filepath.Join(dir, "hub-keys.json")})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	return private
}
