package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/internal/mqtttest"
)

// The real podd, podctl and hubctl binaries against a real mosquitto: the
// hub drives a pod as the city would. podd is built with its clock taken as
// synchronised (main.assumeClockSynced), since a signed command is refused
// on a pod whose kernel clock is not, and a test machine's often is not.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func binaries(t *testing.T) (podd, podctl, hubctl string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test builds and runs the daemon")
	}
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "hubctl-e2e-bin"); buildErr != nil {
			return
		}
		for _, b := range [][]string{
			{"-ldflags", "-X main.assumeClockSynced=yes", "-o", filepath.Join(binDir, "podd"), "../podd"},
			{"-o", filepath.Join(binDir, "podctl"), "../podctl"},
			{"-o", filepath.Join(binDir, "hubctl"), "."},
		} {
			if out, err := exec.Command("go", append([]string{"build"}, b...)...).CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %v: %v\n%s", b, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "podd"), filepath.Join(binDir, "podctl"), filepath.Join(binDir, "hubctl")
}

// run runs a binary and returns its combined output and exit code.
// hubKeys makes a hub key named kid with hubctl keygen, and returns the
// private and public key set files and the keys the private one holds.
func hubKeys(t *testing.T, hubctl, kid string) (private, public string, keys []hubclient.Key) {
	t.Helper()
	dir := t.TempDir()
	private, public = filepath.Join(dir, "hub.jwks"), filepath.Join(dir, "hub-public.json")
	if out, code := run(t, hubctl, "keygen", "--kid", kid, "--private", private, "--public", public); code != 0 {
		t.Fatalf("hubctl keygen: exit %d: %s", code, out)
	}
	keys, err := hubclient.LoadKeys(private)
	if err != nil {
		t.Fatal(err)
	}
	return private, public, keys
}

func run(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("%s %v: %v", bin, args, err)
	return "", -1
}

// startPod runs podd as pod e2e-pod trusting the public key set, with env
// added to its environment, and returns its API socket and its log.
func startPod(t *testing.T, podd, broker, publicKeys string, env ...string) (string, *mqtttest.LockedBuffer) {
	t.Helper()
	return startPodWith(t, podd, broker, publicKeys, calmScenario, env...)
}

// calmScenario is a sleeper at rest for the whole test.
const calmScenario = `
name: e2e-calm
baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
`

// startPodWith starts podd on sim.yaml as pod e2e-pod with scenario and the
// extra PODD_ variables env, and returns its API socket and its output.
func startPodWith(t *testing.T, podd, broker, publicKeys, scenario string, env ...string) (string, *mqtttest.LockedBuffer) {
	t.Helper()
	socket, out, _ := startPodIn(t, t.TempDir(), podd, broker, publicKeys, scenario, env...)
	return socket, out
}

// startPodIn is startPodWith with its store in dir; stop stops it (SIGTERM)
// and waits for it, at once or at the end of the test.
func startPodIn(t *testing.T, dir, podd, broker, publicKeys, scenario string, env ...string) (socket string, out *mqtttest.LockedBuffer, stop func()) {
	t.Helper()
	sockDir, err := os.MkdirTemp("", "podd") // t.TempDir's path can be too long for a socket
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	socket = filepath.Join(sockDir, "podd.sock")
	sc := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(sc, []byte(scenario), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(podd, "--config", "../../configs/sim.yaml")
	cmd.Env = append(os.Environ(),
		"PODD_POD_ID=e2e-pod",
		"PODD_UPLINK_BROKER="+broker,
		"PODD_SIM_SCENARIO="+sc,
		"PODD_STORAGE_PATH="+filepath.Join(dir, "podd.db"),
		"PODD_API_SOCKET="+socket,
		"PODD_SECURITY_HUB_KEYS="+publicKeys,
		// sim.yaml's program path is relative to the repository's root.
		"PODD_DREAMSCAPE_PROGRAM=../../dreamscapes/calm-night.yaml",
	)
	cmd.Env = append(cmd.Env, env...)
	out = &mqtttest.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
			if t.Failed() {
				t.Logf("podd output:\n%s", out.String())
			}
		})
	}
	t.Cleanup(stop)
	mqtttest.WaitFor(t, 10*time.Second, "podd's API socket", func() bool {
		c, err := net.Dial("unix", socket)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return socket, out, stop
}

// TestTheHubDrivesARealPod: a signed merge/start is refused without the
// sleeper's consent (no_consent) and accepted with it, the pod going to
// baseline; an unsigned merge/abort ends the merge; a replayed command is
// refused; a retained command is ignored; the pod's records reach
// hubctl follow once each, without a gap.
func TestTheHubDrivesARealPod(t *testing.T) {
	t.Parallel()
	podd, podctl, hubctl := binaries(t)
	m := mqtttest.Start(t, false)
	private, public, keysIn := hubKeys(t, hubctl, "hub-e2e")
	signer, err := hubclient.NewSigner(keysIn[0], hubclient.Options{})
	if err != nil {
		t.Fatal(err)
	}

	// The hub follows the pod as it is driven.
	hub, err := hubclient.Connect(m.URL(), "hub-e2e", hubclient.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	f, err := hub.Follow("e2e-pod")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	go func() { // drain; the test reads the follower's snapshots
		for range f.Updates() {
		}
	}()

	// A command left retained before the pod connects: the broker hands it
	// to the pod as it subscribes, marked retained, and the pod must not
	// act on it. (A retained publish to a pod already subscribed reaches it
	// as a live message, without the flag: MQTT 3.1.1 3.3.1.3.)
	retained, err := signer.Sign(hubcmd.TelemetryInterval{Interval: 200 * time.Millisecond}, "e2e-pod")
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Publish(hubclient.PodTopic("e2e-pod", "cmd"), retained.Raw, true); err != nil {
		t.Fatal(err)
	}

	socket, podLog := startPod(t, podd, m.URL(), public)
	state := func() string {
		out, code := run(t, podctl, "--socket", socket, "status", "--json")
		var st struct {
			State string `json:"state"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
			t.Fatalf("podctl status: exit %d: %s", code, out)
		}
		return st.State
	}
	// Commands reach a pod only while it is connected (and subscribed,
	// which it is before its birth).
	mqtttest.WaitFor(t, 20*time.Second, "the pod online and idle", func() bool {
		for _, r := range f.Records() {
			if r.Kind == "status" && r.Body["online"] == true && r.Body["state"] == "idle" {
				return true
			}
		}
		return false
	})

	send := func(args ...string) (string, int) {
		return run(t, hubctl, append([]string{"send", "--broker", m.URL(), "--key", private, "--pod", "e2e-pod", "--timeout", "10s"}, args...)...)
	}
	start := []string{"merge-start", "--session", "s-e2e", "--dreamscape", "ocean-drift", "--max", "1h"}
	out, code := send(start...)
	if code != exitRefused || !strings.Contains(out, "refused: no_consent") {
		t.Fatalf("merge-start without consent: exit %d: %s", code, out)
	}
	if out, code := run(t, podctl, "--socket", socket, "consent", "grant", "--for", "1h"); code != 0 {
		t.Fatalf("podctl consent grant: exit %d: %s", code, out)
	}
	// The sensors may need a moment to give valid vitals.
	mqtttest.WaitFor(t, 20*time.Second, "merge-start accepted", func() bool {
		out, code = send(start...)
		if code != 0 && !strings.Contains(out, "sensors") {
			t.Fatalf("merge-start with consent: exit %d: %s", code, out)
		}
		return code == 0
	})
	if !strings.Contains(out, "merge/start e2e-pod: accepted") {
		t.Fatalf("merge-start: %s", out)
	}
	if s := state(); s != "baseline" && s != "merged" {
		t.Fatalf("state %s after merge-start, want baseline", s)
	}

	// A command delivered twice (a broker's redelivery, or a replay): done
	// once, and the second delivery gets the first answer again, in a
	// reply of its own.
	tok, err := signer.Sign(hubcmd.TelemetryInterval{Interval: 500 * time.Millisecond}, "e2e-pod")
	if err != nil {
		t.Fatal(err)
	}
	first, err := hub.Request("e2e-pod", tok, 10*time.Second)
	if err != nil || !first.OK {
		t.Fatalf("telemetry/interval: %+v, %v", first, err)
	}
	if r, err := hub.Request("e2e-pod", tok, 10*time.Second); err != nil || r.OK != first.OK || r.Error != first.Error || r.Seq == first.Seq {
		t.Fatalf("the same token again: %+v, %v; want the first answer %+v again, in a new record", r, err, first)
	}

	// The retained command was never answered, and is cleared.
	if !strings.Contains(podLog.String(), `"retained command ignored"`) {
		t.Fatal("the pod did not log the retained command it ignored")
	}
	for _, r := range f.Records() {
		if r.Kind == "reply" && r.Body["jti"] == retained.ID {
			t.Fatalf("the pod replied to a retained command: %s", r.Raw)
		}
	}
	if err := hub.Publish(hubclient.PodTopic("e2e-pod", "cmd"), nil, true); err != nil {
		t.Fatal(err)
	}

	// An unsigned merge/abort ends the merge.
	if out, code := run(t, hubctl, "send", "--broker", m.URL(), "--pod", "e2e-pod", "merge-abort", "--unsigned", "--json"); code != 0 || !strings.Contains(out, `"ok":true`) {
		t.Fatalf("merge-abort --unsigned: exit %d: %s", code, out)
	}
	if s := state(); s != "idle" {
		t.Fatalf("state %s after merge-abort, want idle", s)
	}
	// Nothing refused without a reply, nothing missing, nothing twice.
	mqtttest.WaitFor(t, 10*time.Second, "the abort's command event", func() bool {
		for _, r := range f.Records() {
			if r.Kind == "events" && r.Type == "command" && r.Body["cmd"] == "merge/abort" && r.Body["signed"] == false {
				return true
			}
		}
		return false
	})
	if st := f.Stats("e2e-pod"); len(st.Gaps) != 0 || st.Received == 0 {
		t.Fatalf("follower stats %+v", st)
	}
}

// TestHubctlFollowPrintsGapsAndExitCodes: hubctl follow prints each record
// once and the gaps, as text and as JSON; send with no pod to answer
// exits 4.
func TestHubctlFollowPrintsGapsAndExitCodes(t *testing.T) {
	t.Parallel()
	_, _, hubctl := binaries(t)
	m := mqtttest.Start(t, false)
	keys := t.TempDir()
	private, public := filepath.Join(keys, "hub.jwks"), filepath.Join(keys, "hub-public.json")
	if out, code := run(t, hubctl, "keygen", "--kid", "k1", "--private", private, "--public", public); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, out)
	}
	if out, code := run(t, hubctl, "keygen", "--kid", "k1", "--private", private, "--public", public+"2"); code != exitError || !strings.Contains(out, "exists") {
		t.Fatalf("keygen over a key: exit %d: %s", code, out)
	}
	if out, code := run(t, hubctl, "send", "--broker", m.URL(), "--key", private, "--pod", "nobody", "--timeout", "300ms", "identify"); code != exitNoReply {
		t.Fatalf("send to nobody: exit %d: %s", code, out)
	}

	for _, asJSON := range []bool{false, true} {
		var want []string
		if asJSON {
			want = []string{`{"update":"record","pod":"p1","kind":"telemetry","seq":1,`, `"seq":2,`, `"seq":4,"historical":true`, `{"update":"gap","pod":"p1","from":3,"to":3}`}
		} else {
			want = []string{"p1 seq 1 telemetry {", "p1 seq 2 telemetry {", "p1 seq 4 telemetry historical {", "p1 gap 3..3 (not received"}
		}
		// Stopped by SIGTERM once it has printed what it was sent, not by
		// --for: a window of a few seconds, from its start, for the
		// publishes below missed the last of them on a loaded machine.
		args := []string{"follow", "--broker", m.URL(), "--pod", "p1", "--for", "60s"}
		if asJSON {
			args = append(args, "--json")
		}
		cmd := exec.Command(hubctl, args...)
		out := &mqtttest.LockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		})
		printed := func() []string { return strings.Split(strings.TrimSpace(out.String()), "\n") }
		mqtttest.WaitFor(t, 15*time.Second, "hubctl follow online", func() bool {
			sub := mqtttest.Subscribe(t, m.URL(), hubclient.HubStatusTopic, fmt.Sprintf("probe-%v-%d", asJSON, time.Now().UnixNano()), true)
			time.Sleep(100 * time.Millisecond)
			for _, msg := range sub.Messages() {
				if strings.Contains(string(msg.Payload()), `"online":true`) {
					return true
				}
			}
			return false
		})
		publish := func(seq int) {
			mqtttest.Publish(t, m.URL(), "pod", hubclient.PodTopic("p1", "telemetry"),
				fmt.Appendf(nil, `{"pod":"p1","boot":"b","seq":%d,"historical":%v}`, seq, seq == 4), false)
		}
		// It subscribes right after its status goes online: seq 1 is sent
		// until it is printed, which it is once (a record delivered again
		// is not printed again, as seq 2 shows).
		mqtttest.WaitFor(t, 15*time.Second, "hubctl follow subscribed, seq 1 printed", func() bool {
			publish(1)
			time.Sleep(50 * time.Millisecond)
			return strings.Contains(out.String(), want[0])
		})
		for _, seq := range []int{2, 2, 4} {
			publish(seq)
		}
		mqtttest.WaitFor(t, 15*time.Second, fmt.Sprintf("%d lines printed", len(want)), func() bool { return len(printed()) >= len(want) })
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("hubctl follow: %v: %s", err, out.String())
		}
		lines := printed()
		if len(lines) != len(want) {
			t.Fatalf("hubctl follow printed %d lines, want %d:\n%s", len(lines), len(want), out.String())
		}
		for i, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d: %q, want %q in it", i, lines[i], w)
			}
		}
	}
}
