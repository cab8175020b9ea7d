package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/internal/buildinfo"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
)

// refusingPod refuses every ack, as a pod whose vitals are out of range.
type refusingPod struct{ ackPod }

func (p *refusingPod) Ack(context.Context, controller.AckSource) (safety.Abort, error) {
	return safety.Abort{}, errors.Join(controller.ErrRefused, errors.New("safety: cannot acknowledge while heart_rate_bpm 150.0 is not below 125"))
}

// Finding: podctl ack --json printed nothing when refused. It prints the
// pod's reply as JSON, and still exits 3.
func TestAckJSONPrintsTheRefusal(t *testing.T) {
	var out strings.Builder
	root := newRoot(&out)
	root.SetArgs([]string{"--socket", serveAPI(t, &refusingPod{}), "ack", "--json"})
	err := root.Execute()
	if exitCode(err) != exitRefused {
		t.Fatalf("ack --json refused: %v, exit %d; want exit 3", err, exitCode(err))
	}
	var r api.AckReply
	if jerr := json.Unmarshal([]byte(out.String()), &r); jerr != nil || r.OK || r.Error != "refused\nsafety: cannot acknowledge while heart_rate_bpm 150.0 is not below 125" {
		t.Fatalf("ack --json printed %q (%v); want the refusal as JSON", out.String(), jerr)
	}
}

// podctl runs podctl in a process of its own (the test binary as podctl)
// with cred when not nil, and returns its stdout, stderr and exit status.
func podctlProcess(t *testing.T, cred *syscall.Credential, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	skipOtherProcessWhenShort(t)
	bin := os.Args[0]
	if cred != nil {
		bin = copyForAnyone(t, bin)
	}
	cmd := exec.Command(bin, append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "PODCTL_TEST_RUN_MAIN=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("podctl %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

// Finding: a user outside the podd group got "permission denied" with no
// hint. The socket is made unreadable to the caller (mode 0 for a user;
// root, who passes any mode, runs podctl as nobody), and podctl says how
// to get access, exit status 1.
func TestASocketOutsideThePoddGroupGetsAHint(t *testing.T) {
	sock := serveAPI(t, &ackPod{})
	if err := os.Chmod(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sock, 0); err != nil {
		t.Fatal(err)
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534} // nobody
	}
	_, stderr, code := podctlProcess(t, cred, "--socket", sock, "status")
	want := "\nyou may not open " + sock + ": it is for root and the podd group; add yourself to the podd group: sudo usermod -aG podd $USER, then log in again; or use sudo\n"
	if code != exitError || !strings.Contains(stderr, "permission denied") || !strings.HasSuffix(stderr, want) {
		t.Fatalf("podctl status on a socket it may not open: exit %d, stderr %q; want exit 1 ending %q", code, stderr, want)
	}
}

// Finding: podctl --version did not exist. podctl --version and podctl
// version print the build's line; version --json its object.
func TestVersion(t *testing.T) {
	line := "podctl " + buildinfo.Get().String() + "\n"
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var out strings.Builder
		root := newRoot(&out)
		root.SetArgs(args)
		if err := root.Execute(); err != nil || out.String() != line {
			t.Errorf("podctl %v = %q, %v; want %q", args, out.String(), err, line)
		}
	}
	var out strings.Builder
	root := newRoot(&out)
	root.SetArgs([]string{"version", "--json"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var got buildinfo.Info
	if err := json.Unmarshal([]byte(out.String()), &got); err != nil || got != buildinfo.Get() {
		t.Fatalf("podctl version --json = %q (%v), want %+v", out.String(), err, buildinfo.Get())
	}
}

// The exit statuses podctl's doc and --help list, from the process itself.
func TestExitCodes(t *testing.T) {
	sock := serveAPI(t, &refusingPod{})
	broken := serveAPI(t, &brokenAudit{})
	absent := filepath.Join(t.TempDir(), "absent.sock")
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"--socket", sock, "status"}, exitOK},
		{[]string{"--socket", absent, "status"}, exitError},
		{[]string{"--socket", sock, "statsu"}, exitBadInput},
		{[]string{"--socket", sock, "status", "--colour"}, exitBadInput},
		{[]string{"--socket", sock, "status", "extra"}, exitBadInput},
		{[]string{"--socket", sock, "consent", "grnat"}, exitBadInput},
		{[]string{"--socket", sock, "selftest", "sound"}, exitBadInput},
		{[]string{"--socket", sock, "ack"}, exitRefused},
		{[]string{"--socket", broken, "audit", "verify"}, exitAudit},
	} {
		if _, stderr, code := podctlProcess(t, nil, tt.args...); code != tt.want {
			t.Errorf("podctl %v: exit %d, want %d (stderr %q)", tt.args, code, tt.want, stderr)
		}
	}
	var out strings.Builder
	root := newRoot(&out)
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil || !strings.HasSuffix(out.String(), "\n"+exitCodes) {
		t.Fatalf("podctl --help (%v):\n%s\nwant it to end with the exit statuses", err, out.String())
	}
}

// brokenAudit is a pod whose audit log breaks at entry 12.
type brokenAudit struct{ ackPod }

func (*brokenAudit) Audit() (journal.AuditReport, error) {
	return journal.AuditReport{Entries: 20, First: 1, Last: 20, Broken: &journal.AuditBreak{N: 12, Detail: "prev hash does not match entry 11"}}, nil
}

// copyForAnyone copies the executable at path into a directory any user
// may enter, mode 0755: the go tool's build directory is its owner's only.
func copyForAnyone(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "podctl-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "podctl")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// skipOtherProcessWhenShort skips a test that runs podctl as a process of
// its own under -short: make test's armv7 pass runs the test binary under
// qemu-arm, which the test cannot exec again. The race pass runs it.
func skipOtherProcessWhenShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs podctl in a process of its own (make test's race pass does)")
	}
}
