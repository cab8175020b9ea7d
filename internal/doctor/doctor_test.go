package doctor

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// repoRoot is the repository's root, where podd runs with
// configs/sim.yaml (its relative paths resolve there).
var repoRoot = func() string {
	p, err := filepath.Abs("../..")
	if err != nil {
		panic(err)
	}
	return p
}()

// testNow is the fake wall clock of the checks.
var testNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// simConfig loads configs/sim.yaml as podd would from the repository's
// root (its relative paths: the scenario), the store and the socket in
// dir, with env's overrides.
func simConfig(t *testing.T, dir string, env ...string) *configs.Config {
	t.Helper()
	t.Chdir(repoRoot)
	env = append([]string{"PODD_STORAGE_PATH=" + filepath.Join(dir, "podd.db"), "PODD_API_SOCKET=" + filepath.Join(dir, "podd.sock")}, env...)
	cfg, err := configs.Load("configs/sim.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// healthySystem is a machine with a synchronised clock and room on its
// disk, its device nodes under root.
func healthySystem(root string) System {
	var d net.Dialer
	return System{
		Root:        root,
		Statfs:      func(string) (Space, error) { return Space{Available: 8 << 30, Total: 16 << 30}, nil },
		ClockSynced: func() (bool, error) { return true, nil },
		Now:         func() time.Time { return testNow },
		Dial:        d.DialContext,
	}
}

// newDoctor checks cfg on sys with podd's API on cfg's socket and the
// simulator's hardware from open (nil: NewSim).
func newDoctor(cfg *configs.Config, sys System, open func() (Hardware, error)) (*Doctor, *api.Client) {
	c := api.NewClient(cfg.API.Socket)
	if open == nil {
		open = func() (Hardware, error) { return NewSim(cfg) }
	}
	return &Doctor{Config: cfg, System: sys, Pod: c, OpenHardware: open}, c
}

// find returns the result of check, failing the test without one.
func find(t *testing.T, rs []Result, check string) Result {
	t.Helper()
	for _, r := range rs {
		if r.Check == check {
			return r
		}
	}
	t.Fatalf("no %q among %+v", check, rs)
	return Result{}
}

// line is a result without its fix, for exact comparisons.
type line struct {
	check   string
	verdict Verdict
	detail  string
}

func lines(rs []Result) []line {
	out := make([]line, len(rs))
	for i, r := range rs {
		out[i] = line{r.Check, r.Verdict, r.Detail}
	}
	return out
}

// configs/sim.yaml with podd stopped: every chip answers the simulator's
// ID registers, every line is simulated and free, the embedded broker is
// down with podd (a warning), and a new pod has no store yet. Nothing
// fails.
func TestDoctorOnTheSimulatorWithPoddStopped(t *testing.T) {
	dir := t.TempDir()
	cfg := simConfig(t, dir)
	d, c := newDoctor(cfg, healthySystem(t.TempDir()), nil)
	defer c.Close()
	got := d.Run(context.Background())
	want := []line{
		{"api socket", Warn, "podd is not running (nothing answers on " + dir + "/podd.sock): the hardware is checked directly"},
		{"chip max30102", Pass, "MAX30102 at 0x57 on bus 1: PART_ID (0xFF) 0x15"},
		{"chip ads1299", Pass, "ADS1299 on SPI1.0: ID (0x00) 0x3E"},
		{"chip ads1115", Pass, "ADS1115 at 0x49 on bus 1: Lo_thresh/Hi_thresh (0x02/0x03) at their reset values 0x8000/0x7FFF (it has no ID register)"},
		{"chip tmp117", Pass, "TMP117 at 0x48 on bus 1: Device_ID (0x0F) 0x0117"},
		{"chip pca9685", Pass, "PCA9685 at 0x40 on bus 1: SUBADR1-3, ALLCALLADR (0x02-0x05) at their reset values E2 E4 E8 E0 (it has no ID register)"},
		{"chip drv2605", Pass, "DRV2605L at 0x5A on bus 1: STATUS (0x00) DEVICE_ID 7"},
		{"line GPIO12 (hardware.indicator_led)", Pass, "simulated, free"},
		{"line GPIO25 (sensors.ads1299.drdy)", Pass, "simulated, free"},
		{"line GPIO6 (lights.pca9685.oe)", Pass, "simulated, free"},
		{"line GPIO13 (haptics.drv2605.en)", Pass, "simulated, free"},
		{"line GPIO5 (haptics.places.feet.line)", Pass, "simulated, free"},
		{"broker embedded (127.0.0.1:1883)", Warn, "the embedded broker runs inside podd, which is not running"},
		{"clock", Pass, "synchronised: 2026-11-30T12:00:00Z"},
		{"disk", Pass, "8192 MiB free of 16384 MiB on the store's filesystem (" + dir + ")"},
		{"store", Pass, "none yet at " + dir + "/podd.db: podd creates it at its first start"},
	}
	if !slices.Equal(lines(got), want) {
		t.Fatalf("results:\n%s\nwant:\n%s", show(lines(got)), show(want))
	}
	if Failed(got) {
		t.Fatal("Failed: want no failure")
	}
	for _, r := range got {
		if r.Verdict == Warn && r.Fix == "" {
			t.Errorf("%s: a warning without a fix", r.Check)
		}
	}
}

func show(ls []line) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "  %q %s %q\n", l.check, l.verdict, l.detail)
	}
	return b.String()
}

// A chip that answers with another chip's ID, and one that does not
// answer, fail with what was read and what to check.
func TestDoctorFailsAWrongIDAndAMissingChip(t *testing.T) {
	dir := t.TempDir()
	cfg := simConfig(t, dir)
	var hw *SimHardware
	d, c := newDoctor(cfg, healthySystem(t.TempDir()), func() (Hardware, error) {
		h, err := NewSim(cfg)
		if err != nil {
			return nil, err
		}
		h.HW.Haptic.SetDeviceID(3)
		h.HW.I2C.SetFault(0x57, sim.FaultDisconnect)
		hw = h
		return h, nil
	})
	defer c.Close()
	got := d.Run(context.Background())
	if hw == nil {
		t.Fatal("the hardware was not opened")
	}
	drv := find(t, got, "chip drv2605")
	if drv.Verdict != Fail || drv.Detail != "the chip at 0x5A on bus 1 is not a DRV2605L: STATUS DEVICE_ID 3: a DRV2605, not the DRV2605L the pod's driver needs" {
		t.Errorf("drv2605: %+v", drv)
	}
	mx := find(t, got, "chip max30102")
	if mx.Verdict != Fail || mx.Detail != "nothing answers at 0x57 on bus 1" || !strings.Contains(mx.Fix, "podctl scan") {
		t.Errorf("max30102: %+v", mx)
	}
	if !Failed(got) {
		t.Fatal("Failed = false")
	}
}

// The clock: synchronised and sane passes; STA_UNSYNC or a 1970 clock
// fails.
func TestDoctorJudgesTheClock(t *testing.T) {
	for _, c := range []struct {
		synced  bool
		now     time.Time
		verdict Verdict
		detail  string
	}{
		{true, testNow, Pass, "synchronised: 2026-11-30T12:00:00Z"},
		{false, testNow, Fail, "not synchronised (the kernel's STA_UNSYNC is set); it reads 2026-11-30T12:00:00Z"},
		{true, time.Unix(0, 0), Fail, "the clock reads 1970-01-01T00:00:00Z: not a sane time"},
	} {
		sys := healthySystem("")
		sys.ClockSynced = func() (bool, error) { return c.synced, nil }
		sys.Now = func() time.Time { return c.now }
		d := &Doctor{System: sys}
		if r := d.checkClock(); r.Verdict != c.verdict || r.Detail != c.detail {
			t.Errorf("synced %v at %v: %+v, want %s %q", c.synced, c.now, r, c.verdict, c.detail)
		}
	}
}

// A disk nearly full warns, below 10 % or 100 MiB; a full one fails.
func TestDoctorJudgesTheStoresDisk(t *testing.T) {
	dir := t.TempDir()
	cfg := &configs.Config{Storage: configs.StorageConfig{Path: filepath.Join(dir, "var", "podd.db")}}
	for _, c := range []struct {
		sp      Space
		verdict Verdict
	}{
		{Space{Available: 8 << 30, Total: 16 << 30}, Pass},
		{Space{Available: 1 << 30, Total: 16 << 30}, Warn}, // 6 %
		{Space{Available: 50 << 20, Total: 400 << 20}, Warn},
		{Space{Available: 5 << 20, Total: 16 << 30}, Fail},
	} {
		var asked string
		sys := healthySystem("")
		sys.Statfs = func(p string) (Space, error) { asked = p; return c.sp, nil }
		r := (&Doctor{System: sys}).checkDisk(cfg)
		want := fmt.Sprintf("%s free of %s on the store's filesystem (%s)", mib(c.sp.Available), mib(c.sp.Total), dir)
		if r.Verdict != c.verdict || r.Detail != want || asked != dir {
			t.Errorf("%+v: %+v (statfs of %s), want %s %q of %s (var/ does not exist yet)", c.sp, r, asked, c.verdict, want, dir)
		}
	}
}

// api0 is the status of a podd that does not run.
var api0 api.Status
