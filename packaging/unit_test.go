package packaging

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const unitPath = "../systemd/podd.service"

// kernelCharClasses are the names under which the kernel drivers of the
// pod's buses register their character device majors, as /proc/devices
// lists them and as systemd's DeviceAllow=char-NAME matches them.
var kernelCharClasses = map[string]string{
	// drivers/i2c/i2c-dev.c, i2c_dev_init:
	// register_chrdev_region(MKDEV(I2C_MAJOR, 0), I2C_MINORS, "i2c")
	"i2c": "drivers/i2c/i2c-dev.c",
	// drivers/spi/spidev.c, spidev_init:
	// register_chrdev(SPIDEV_MAJOR, "spi", &spidev_fops)
	"spi": "drivers/spi/spidev.c",
	// drivers/gpio/gpiolib.c, gpiolib_dev_init:
	// alloc_chrdev_region(&gpio_devt, 0, GPIO_DEV_MAX, GPIOCHIP_NAME),
	// GPIOCHIP_NAME "gpiochip" (the chardev itself is in gpiolib-cdev.c)
	"gpiochip": "drivers/gpio/gpiolib.c",
}

// unitSettings is the [Service] section of the unit at path: every value
// of each key, in order.
func unitSettings(t *testing.T, path string) map[string][]string {
	t.Helper()
	return unitSection(t, path, "[Service]")
}

// unitSection is one section of the unit at path ("[Unit]"): every value
// of each key, in order.
func unitSection(t *testing.T, path, want string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			section = line
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not KEY=VALUE", path, line)
		}
		if section == want {
			out[k] = append(out[k], v)
		}
	}
	return out
}

// TestDeviceAllowNamesKernelClasses: with DevicePolicy=closed the daemon
// reaches exactly the I²C, SPI and GPIO character devices and the
// watchdog, each class by the name its kernel driver registers (a class
// the kernel never registers, such as char-spidev, matches nothing and
// the bus stays closed). Where this machine's /proc/devices lists one of
// the drivers, it is under the name in the table.
func TestDeviceAllowNamesKernelClasses(t *testing.T) {
	s := unitSettings(t, unitPath)
	if got := s["DevicePolicy"]; !slices.Equal(got, []string{"closed"}) {
		t.Errorf("DevicePolicy = %q, want [closed]", got)
	}
	var classes, paths []string
	for _, v := range s["DeviceAllow"] {
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "rw" {
			t.Errorf("DeviceAllow=%s: want a device and rw", v)
			continue
		}
		if c, ok := strings.CutPrefix(f[0], "char-"); ok {
			classes = append(classes, c)
		} else {
			paths = append(paths, f[0])
		}
	}
	slices.Sort(classes)
	if want := []string{"gpiochip", "i2c", "spi"}; !slices.Equal(classes, want) {
		t.Errorf("DeviceAllow classes %q, want %q", classes, want)
	}
	for _, c := range classes {
		if _, ok := kernelCharClasses[c]; !ok {
			t.Errorf("char-%s: no kernel driver of the pod's buses registers %q", c, c)
		}
	}
	if !slices.Equal(paths, []string{"/dev/watchdog"}) {
		t.Errorf("DeviceAllow paths %q, want [/dev/watchdog]", paths)
	}

	b, err := os.ReadFile("/proc/devices")
	if err != nil {
		t.Logf("no /proc/devices (%v): the table alone is checked", err)
		return
	}
	seen := procCharDevices(string(b))
	for name, src := range kernelCharClasses {
		if seen[name] {
			t.Logf("/proc/devices lists %q (%s)", name, src)
		}
	}
	// A driver registered under another name would show here.
	for _, wrong := range []string{"spidev", "i2c-dev", "gpio"} {
		if seen[wrong] {
			t.Errorf("/proc/devices lists %q: the kernel's names differ from the table", wrong)
		}
	}
}

// procCharDevices is the set of names in /proc/devices' "Character
// devices:" section (lines "MAJOR NAME").
func procCharDevices(s string) map[string]bool {
	out := map[string]bool{}
	inChar := false
	for _, line := range strings.Split(s, "\n") {
		switch {
		case line == "Character devices:":
			inChar = true
		case strings.HasSuffix(line, "devices:"):
			inChar = false
		case inChar:
			f := strings.Fields(line)
			if len(f) == 2 {
				if _, err := strconv.Atoi(f[0]); err == nil {
					out[f[1]] = true
				}
			}
		}
	}
	return out
}

func TestProcCharDevices(t *testing.T) {
	got := procCharDevices("Character devices:\n  1 mem\n 89 i2c\n153 spi\n254 gpiochip\n\nBlock devices:\n  8 sd\n")
	want := map[string]bool{"mem": true, "i2c": true, "spi": true, "gpiochip": true}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k := range want {
		if !got[k] {
			t.Errorf("%q missing from %v", k, got)
		}
	}
}

// TestUnitKeepsWhatTheDaemonNeeds: the sandbox leaves writable what the
// shipped pod.yaml points at (the store under the StateDirectory, the
// socket under the RuntimeDirectory), the address families of the uplink
// and the local API, no capabilities, and the read-only adjtimex(2) by
// which the daemon asks whether the clock is synchronised.
func TestUnitKeepsWhatTheDaemonNeeds(t *testing.T) {
	s := unitSettings(t, unitPath)
	want := map[string][]string{
		"StateDirectory":          {"podd"},
		"RuntimeDirectory":        {"podd"},
		"ProtectSystem":           {"strict"},
		"ProtectHome":             {"yes"},
		"PrivateTmp":              {"yes"},
		"NoNewPrivileges":         {"yes"},
		"CapabilityBoundingSet":   {""},
		"RestrictAddressFamilies": {"AF_UNIX AF_INET AF_INET6"},
		"SupplementaryGroups":     {"i2c spi gpio"},
		"SystemCallErrorNumber":   {"EPERM"},
	}
	for k, v := range want {
		if !slices.Equal(s[k], v) {
			t.Errorf("%s = %q, want %q", k, s[k], v)
		}
	}
	filters := s["SystemCallFilter"]
	if len(filters) == 0 || filters[0] != "@system-service" {
		t.Errorf("SystemCallFilter = %q, want @system-service first", filters)
	}
	src, err := os.ReadFile("../cmd/podd/clock_linux.go")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(src, []byte("unix.Adjtimex")) && !slices.Contains(filters, "adjtimex") {
		t.Errorf("cmd/podd calls adjtimex, which @system-service leaves out: SystemCallFilter=adjtimex is missing")
	}

	cfg, err := os.ReadFile("../configs/pod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, dir string }{
		{`(?m)^\s+path:\s*(\S+)`, "/var/lib/podd/"},
		{`(?m)^\s+socket:\s*(\S+)`, "/run/podd/"},
	} {
		m := regexp.MustCompile(c.key).FindSubmatch(cfg)
		if m == nil {
			t.Errorf("configs/pod.yaml: no match for %s", c.key)
		} else if !strings.HasPrefix(string(m[1]), c.dir) {
			t.Errorf("configs/pod.yaml: %s is outside %s, which the unit makes writable", m[1], c.dir)
		}
	}
}

// TestUnitRestartsTheDaemonHoweverOftenItFails: podd is restarted a second
// after any failure (an exit, a crash, a stalled watchdog) with no start
// limit. systemd's default limit (DefaultStartLimitBurst 5 starts within
// DefaultStartLimitIntervalSec 10 s, systemd-system.conf(5)) stops
// restarting a unit that failed 5 times in 10 s: a pod whose bus device
// came up a few seconds late at boot would be left without its daemon,
// and its sleeper without the safety watchdog, until someone restarted it.
func TestUnitRestartsTheDaemonHoweverOftenItFails(t *testing.T) {
	unit, service := unitSection(t, unitPath, "[Unit]"), unitSettings(t, unitPath)
	for _, c := range []struct {
		section map[string][]string
		key     string
		want    []string
	}{
		{unit, "StartLimitIntervalSec", []string{"0"}},
		{service, "Restart", []string{"on-failure"}},
		{service, "RestartSec", []string{"1s"}},
		{service, "WatchdogSec", []string{"5s"}},
	} {
		if !slices.Equal(c.section[c.key], c.want) {
			t.Errorf("%s = %q, want %q", c.key, c.section[c.key], c.want)
		}
	}
}

// TestUnitSecurityExposure: systemd-analyze rates the unit below 2.0.
func TestUnitSecurityExposure(t *testing.T) {
	sa := lookTool(t, "systemd-analyze")
	out, err := exec.Command(sa, "security", "--offline=yes", "--no-pager", unitPath).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for podd\.service: (\d+\.\d)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("systemd-analyze security: %.1f", score)
	if score >= 2.0 {
		t.Errorf("exposure %.1f, want below 2.0:\n%s", score, out)
	}
}

// TestUnitVerifies: systemd-analyze verify has nothing to say about the
// unit, checked in a root holding the unit, an executable at its
// ExecStart and the host's targets; and it does complain there about a
// misspelt key, so its silence means something.
func TestUnitVerifies(t *testing.T) {
	sa := lookTool(t, "systemd-analyze")
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	targets, _ := filepath.Glob("/usr/lib/systemd/system/*.target")
	if len(targets) == 0 {
		t.Skip("no systemd targets in /usr/lib/systemd/system to verify against (.ci/run installs systemd)")
	}
	verify := func(unit []byte) string {
		root := t.TempDir()
		sys := filepath.Join(root, "usr/lib/systemd/system")
		mustMkdir(t, sys, filepath.Join(root, "usr/bin"))
		for _, tg := range targets {
			b, err := os.ReadFile(tg)
			if err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(sys, filepath.Base(tg)), b, 0o644)
		}
		mustWrite(t, filepath.Join(root, "usr/bin/podd"), []byte("#!/bin/sh\n"), 0o755)
		mustWrite(t, filepath.Join(sys, "podd.service"), unit, 0o644)
		out, err := exec.Command(sa, "verify", "--man=no", "--root="+root, "podd.service").CombinedOutput()
		if err != nil {
			return string(out) + err.Error()
		}
		return string(out)
	}
	if out := verify(unit); out != "" {
		t.Errorf("systemd-analyze verify:\n%s", out)
	}
	bad := bytes.Replace(unit, []byte("NoNewPrivileges="), []byte("NoNewPrivilege="), 1)
	if out := verify(bad); !strings.Contains(out, "NoNewPrivilege") {
		t.Errorf("verify says nothing of a misspelt key: %q", out)
	}
}

// lookTool is the path of a command (also looked for in /usr/sbin and
// /sbin), or skips the test saying how to get it.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Skipf("%s is not installed (.ci/run installs it with apt-get)", name)
	return ""
}

func mustMkdir(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func mustWrite(t *testing.T, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
}
