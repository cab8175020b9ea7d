package main

import (
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/sleegation/podd/controller"
)

// TestMain clears SUDO_USER: the tests run alike under sudo (as root, where
// podctl ack would add it to every note) and without; the tests of the
// sudo note set it themselves. No test may leave a goroutine running.
//
// With PODCTL_TEST_RUN_MAIN=1 the test binary is podctl itself (main with
// the arguments after "--"), for the tests that need another process.
func TestMain(m *testing.M) {
	if os.Getenv("PODCTL_TEST_RUN_MAIN") == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"podctl"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	os.Unsetenv("SUDO_USER")
	goleak.VerifyTestMain(m)
}

func TestSudoNote(t *testing.T) {
	long := strings.Repeat("x", 180)
	tests := []struct {
		name, note, sudoUser string
		euid                 int
		want, err            string
	}{
		{"not root: the variable is ignored", "checked", "alice", 1000, "checked", ""},
		{"root without sudo", "checked", "", 0, "checked", ""},
		{"through sudo, no note", "", "alice", 0, "via sudo from alice (SUDO_USER, claimed)", ""},
		{"through sudo, a note", "checked", "alice", 0, "via sudo from alice (SUDO_USER, claimed); checked", ""},
		{"a sudo user with an escape", "", "al\x1bice", 0, "", "control or format character U+001B"},
		{"too long with the prefix", long, "alice", 0, "", "more than 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sudoNote(tt.note, tt.sudoUser, tt.euid)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("sudoNote = %q, %v; want an error with %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("sudoNote = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// podctl ack run as root with SUDO_USER set (sudo podctl ack): the pod
// records the uid the socket proves and hears the sudo user only in the
// note, marked as claimed; a bad SUDO_USER refuses the ack before any
// request.
func TestAckThroughSudoNamesTheClaimedUserInTheNote(t *testing.T) {
	saved := geteuid
	geteuid = func() int { return 0 }
	t.Cleanup(func() { geteuid = saved })
	t.Setenv("SUDO_USER", "alice")
	pod := &ackPod{}
	var out strings.Builder
	root := newRoot(&out)
	root.SetArgs([]string{"--socket", serveAPI(t, pod), "ack", "--note", "checked"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if len(pod.srcs) != 1 || pod.srcs[0].Note != "via sudo from alice (SUDO_USER, claimed); checked" || *pod.srcs[0].UID != uint32(os.Getuid()) {
		t.Fatalf("the pod heard %+v", pod.srcs)
	}

	t.Setenv("SUDO_USER", "al\x1bice")
	pod = &ackPod{}
	root = newRoot(&out)
	root.SetArgs([]string{"--socket", serveAPI(t, pod), "ack"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "the note with the sudo user added") {
		t.Fatalf("podctl ack with a bad SUDO_USER = %v", err)
	}
	if len(pod.srcs) != 0 {
		t.Fatalf("the pod heard %+v", pod.srcs)
	}
}

// Whatever SUDO_USER and the note hold, sudoNote as root with a sudo user
// returns a note the pod records as it is, naming the sudo user as
// claimed, or an error; without a sudo user, or as another user than
// root, it returns the note unchanged (the pod checks it).
func FuzzSudoNote(f *testing.F) {
	f.Add("checked", "alice")
	f.Add("", "al\x1bice")
	f.Add(strings.Repeat("x", 190), "bob")
	f.Add("line\nbreak", "\u202ealice")
	f.Fuzz(func(t *testing.T, note, sudoUser string) {
		if got, err := sudoNote(note, sudoUser, 1000); err != nil || got != note {
			t.Fatalf("not root: %q, %v", got, err)
		}
		got, err := sudoNote(note, sudoUser, 0)
		if sudoUser == "" {
			if err != nil || got != note {
				t.Fatalf("root without sudo: %q, %v; want the note as it is (the pod checks it)", got, err)
			}
			return
		}
		if err != nil {
			return
		}
		if clean, cerr := controller.CleanAckNote(got); cerr != nil || clean != got {
			t.Fatalf("sudoNote = %q, not a clean note (%q, %v)", got, clean, cerr)
		}
		if !strings.HasPrefix(got, "via sudo from ") || !strings.Contains(got, "(SUDO_USER, claimed)") {
			t.Fatalf("sudoNote = %q, want the claimed sudo user", got)
		}
	})
}
