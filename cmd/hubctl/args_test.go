package main

import (
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
