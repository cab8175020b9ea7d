package packaging

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestDebArchitectures: make deb gives every cross target its own Debian
// architecture (armv6 armel, armv7 armhf), so no two packages share a file
// name.
func TestDebArchitectures(t *testing.T) {
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	field := func(name string) []string {
		m := regexp.MustCompile(`(?m)^` + name + `\s*:=\s*(.*)$`).FindSubmatch(mk)
		if m == nil {
			t.Fatalf("Makefile: no %s", name)
		}
		return strings.Fields(string(m[1]))
	}
	targets, debarch := field("TARGETS"), field("DEBARCH")
	want := map[string]string{"arm64": "arm64", "arm/7": "armhf", "arm/6": "armel", "amd64": "amd64"}
	got := map[string]string{}
	for _, p := range debarch {
		target, arch, ok := strings.Cut(p, ":")
		if !ok {
			t.Fatalf("DEBARCH entry %q is not TARGET:ARCH", p)
		}
		got[target] = arch
	}
	if len(got) != len(want) {
		t.Errorf("DEBARCH %v, want %v", got, want)
	}
	for target, arch := range want {
		if got[target] != arch {
			t.Errorf("target %s: Debian architecture %q, want %q", target, got[target], arch)
		}
	}
	for _, tg := range targets {
		if _, ok := got[tg]; !ok {
			t.Errorf("cross target %s has no package", tg)
		}
	}
}

// debArch is the Debian architecture of the machine running the test.
func debArch(t *testing.T) string {
	switch runtime.GOARCH {
	case "amd64", "arm64":
		return runtime.GOARCH
	}
	t.Skipf("no package test on %s", runtime.GOARCH)
	return ""
}

// buildDebs builds podd and podctl for this machine and packages them at
// each version with build-deb.sh, returning the packages' paths. The
// builds, then the packagings, run side by side.
func buildDebs(t *testing.T, arch string, versions ...string) []string {
	t.Helper()
	goTool := lookTool(t, "go")
	bin := t.TempDir()
	var builds []*exec.Cmd
	for _, c := range []string{"podd", "podctl"} {
		cmd := exec.Command(goTool, "build", "-o", filepath.Join(bin, c), "../cmd/"+c)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		builds = append(builds, cmd)
	}
	runAll(t, builds)
	out := t.TempDir()
	var debs []string
	var packs []*exec.Cmd
	for _, v := range versions {
		packs = append(packs, exec.Command("./build-deb.sh", bin, arch, v, out))
		debs = append(debs, filepath.Join(out, fmt.Sprintf("podd_%s_%s.deb", v, arch)))
	}
	runAll(t, packs)
	for _, deb := range debs {
		if _, err := os.Stat(deb); err != nil {
			t.Fatal(err)
		}
	}
	return debs
}

// runAll runs the commands at once and waits for all; a failure fails
// the test with the command's output.
func runAll(t *testing.T, cmds []*exec.Cmd) {
	t.Helper()
	outs := make([]bytes.Buffer, len(cmds))
	for i, c := range cmds {
		c.Stdout, c.Stderr = &outs[i], &outs[i]
		if err := c.Start(); err != nil {
			t.Fatalf("%v: %v", c.Args, err)
		}
	}
	var failed []string
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			failed = append(failed, fmt.Sprintf("%v: %v\n%s", c.Args, err, outs[i].String()))
		}
	}
	if len(failed) > 0 {
		t.Fatal(strings.Join(failed, "\n"))
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	return runPath(t, "", name, args...)
}

// runPath runs a command with dir first on its PATH (when not empty), in
// the C locale.
func runPath(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	path := os.Getenv("PATH") + ":/usr/sbin:/sbin"
	if dir != "" {
		path = dir + ":" + path
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "PATH="+path, "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// spyTools are the commands by which the maintainer scripts could reach
// the running system. spy puts a wrapper of each in a directory (to go
// first on PATH) that logs "NAME DPKG_ROOT=... ARGS" to the returned log
// file and runs the real one, or, with logOnly, exits 0.
var spyTools = []string{"systemctl", "udevadm", "deb-systemd-invoke", "deb-systemd-helper", "systemd-sysusers", "systemd-tmpfiles"}

func spy(t *testing.T, logOnly bool) (dir, log string) {
	dir = t.TempDir()
	log = filepath.Join(dir, "calls.log")
	for _, name := range spyTools {
		// A tool missing here (udevadm in a container) is logged when
		// called and fails as a missing command does.
		then := "exit 127"
		if logOnly {
			then = "exit 0"
		} else if real, err := exec.LookPath(name); err == nil {
			then = "exec '" + real + "' \"$@\""
		} else if _, err := os.Stat("/usr/sbin/" + name); err == nil {
			then = "exec '/usr/sbin/" + name + "' \"$@\""
		}
		script := fmt.Sprintf("#!/bin/sh\necho \"%s DPKG_ROOT=${DPKG_ROOT:-} $*\" >>'%s'\n%s\n", name, log, then)
		mustWrite(t, filepath.Join(dir, name), []byte(script), 0o755)
	}
	return dir, log
}

// TestDebPackage builds the package for this machine and reads it with
// dpkg-deb: its control fields, its files with their modes, the conffile
// and the maintainer scripts byte for byte; then, where dpkg can run as
// root, installs, upgrades, removes and purges it in a throw-away root
// (TestDebLifecycle).
func TestDebPackage(t *testing.T) {
	dpkgDeb := lookTool(t, "dpkg-deb")
	arch := debArch(t)
	debs := buildDebs(t, arch, "1.0.0", "1.0.1")

	fields := run(t, dpkgDeb, "-f", debs[0], "Package", "Version", "Architecture", "Depends")
	wantFields := "Package: podd\nVersion: 1.0.0\nArchitecture: " + arch + "\nDepends: systemd, init-system-helpers (>= 1.65)\n"
	if fields != wantFields {
		t.Errorf("control fields:\n%s\nwant:\n%s", fields, wantFields)
	}

	// dpkg-deb -c: "MODE OWNER/GROUP SIZE DATE TIME ./PATH" per entry.
	files := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(run(t, dpkgDeb, "-c", debs[0])), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasPrefix(f[5], "./") {
			t.Fatalf("dpkg-deb -c line %q", line)
		}
		if f[0][0] == 'd' {
			continue
		}
		files[strings.TrimPrefix(f[5], ".")] = f[0] + " " + f[1]
	}
	wantFiles := map[string]string{
		"/usr/bin/podd":                        "-rwxr-xr-x root/root",
		"/usr/bin/podctl":                      "-rwxr-xr-x root/root",
		"/etc/podd/pod.yaml":                   "-rw-r----- root/root",
		"/usr/lib/systemd/system/podd.service": "-rw-r--r-- root/root",
		"/usr/lib/sysusers.d/podd.conf":        "-rw-r--r-- root/root",
		"/usr/lib/tmpfiles.d/podd.conf":        "-rw-r--r-- root/root",
		"/usr/lib/udev/rules.d/99-podd.rules":  "-rw-r--r-- root/root",
		"/usr/share/doc/podd/README.md":        "-rw-r--r-- root/root",
		"/usr/share/doc/podd/dreamscapes.md":   "-rw-r--r-- root/root",
		// pod.yaml plays calm-night from here.
		"/usr/share/podd/dreamscapes/calm-night.yaml": "-rw-r--r-- root/root",
		"/usr/share/podd/dreamscapes/sunrise.yaml":    "-rw-r--r-- root/root",
		"/usr/share/podd/dreamscapes/slow-ocean.yaml": "-rw-r--r-- root/root",
		"/usr/share/doc/podd/copyright":               "-rw-r--r-- root/root",
		"/usr/share/doc/podd/changelog.Debian.gz":     "-rw-r--r-- root/root",
	}
	for p, w := range wantFiles {
		if files[p] != w {
			t.Errorf("%s: %q, want %q", p, files[p], w)
		}
	}
	for p := range files {
		if _, ok := wantFiles[p]; !ok {
			t.Errorf("unexpected file %s in the package", p)
		}
	}

	ctrl := t.TempDir()
	run(t, dpkgDeb, "-e", debs[0], ctrl)
	conffiles, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	if err != nil {
		t.Fatal(err)
	}
	if string(conffiles) != "/etc/podd/pod.yaml\n" {
		t.Errorf("conffiles %q, want /etc/podd/pod.yaml", conffiles)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		got, err := os.ReadFile(filepath.Join(ctrl, s))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("the package's %s differs from packaging/%s", s, s)
		}
	}
	if _, err := os.Stat(filepath.Join(ctrl, "preinst")); err == nil {
		t.Errorf("the package has a preinst; none is written")
	}

	t.Run("lifecycle", func(t *testing.T) { testDebLifecycle(t, debs[0], debs[1]) })
}

// hostPaths are where the maintainer scripts would leave traces on the
// running system; their state before and after each dpkg run in the
// throw-away root must be equal.
var hostPaths = []string{
	"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow",
	"/etc/podd", "/var/lib/podd", "/run/podd",
	"/etc/systemd/system/podd.service",
	"/etc/systemd/system/multi-user.target.wants/podd.service",
	"/var/lib/systemd/deb-systemd-helper-enabled/podd.service.dsh-also",
	"/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/podd.service",
	"/var/lib/systemd/deb-systemd-helper-masked/podd.service",
}

// hostState fingerprints hostPaths: absent, a symlink's target, or a
// file's content hash and mode.
func hostState() map[string]string {
	out := map[string]string{}
	for _, p := range hostPaths {
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
			out[p] = "absent"
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out[p] = "-> " + l
		case fi.IsDir():
			out[p] = "dir " + fi.Mode().String()
		default:
			b, _ := os.ReadFile(p)
			out[p] = fmt.Sprintf("%s %x", fi.Mode(), sha256.Sum256(b))
		}
	}
	return out
}

// testDebLifecycle installs v1, enables the unit as a technician would,
// upgrades to v2, removes and purges, in a throw-away root with dpkg
// --root and --force-script-chrootless: dpkg runs the scripts on this
// machine with DPKG_ROOT set to the root.
func testDebLifecycle(t *testing.T, v1, v2 string) {
	dpkg := lookTool(t, "dpkg")
	systemctl := lookTool(t, "systemctl")
	if os.Geteuid() != 0 {
		t.Skip("dpkg --root installs as root only (CI runs as root)")
	}
	spyDir, spyLog := spy(t, false)
	root := t.TempDir()
	mustMkdir(t, filepath.Join(root, "var/lib/dpkg/info"), filepath.Join(root, "var/lib/dpkg/updates"))
	mustWrite(t, filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
	r := func(p string) string { return filepath.Join(root, p) }
	before := hostState()
	dpkgIn := func(args ...string) {
		t.Helper()
		// Depends: the root has no systemd; the scripts need none there.
		runPath(t, spyDir, dpkg, append([]string{"--root=" + root, "--force-script-chrootless", "--force-depends",
			"--force-unsafe-io", "--log=/dev/null"}, args...)...)
		if after := hostState(); !mapsEqual(before, after) {
			t.Fatalf("dpkg %v changed the running system:\nbefore %v\nafter  %v", args, before, after)
		}
	}
	status := func() string {
		cmd := exec.Command("dpkg-query", "--admindir="+r("var/lib/dpkg"), "-W", "-f=${Status} ${Version}", "podd")
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	wants := r("etc/systemd/system/multi-user.target.wants/podd.service")
	exists := func(p string) bool { _, err := os.Lstat(p); return err == nil }

	// Install: the user and group with the bus groups, the state and socket
	// directories owned by it, pod.yaml readable by its group; not enabled.
	dpkgIn("-i", v1)
	if s := status(); s != "install ok installed 1.0.0" {
		t.Fatalf("after install: %q", s)
	}
	passwd, err := os.ReadFile(r("etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^podd:x:(\d+):(\d+):[^:]*:/var/lib/podd:`).FindSubmatch(passwd)
	if m == nil {
		t.Fatalf("no podd user in the root's passwd:\n%s", passwd)
	}
	uid, gid := string(m[1]), string(m[2])
	group, err := os.ReadFile(r("etc/group"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"i2c", "spi", "gpio"} {
		if !regexp.MustCompile(`(?m)^` + g + `:x:\d+:podd$`).Match(group) {
			t.Errorf("group %s has not podd as member:\n%s", g, group)
		}
	}
	for _, c := range []struct{ path, want string }{
		{"etc/podd/pod.yaml", "-rw-r----- 0:" + gid},
		{"var/lib/podd", "drwxr-x--- " + uid + ":" + gid},
		{"run/podd", "drwxr-x--- " + uid + ":" + gid},
		{"usr/bin/podd", "-rwxr-xr-x 0:0"},
	} {
		if got := modeOwner(t, r(c.path)); got != c.want {
			t.Errorf("/%s: %s, want %s", c.path, got, c.want)
		}
	}
	if exists(wants) {
		t.Errorf("a first install enabled the unit")
	}
	if got, want := must(os.ReadFile(r("usr/lib/systemd/system/podd.service"))), must(os.ReadFile(unitPath)); !bytes.Equal(got, want) {
		t.Errorf("the installed unit differs from systemd/podd.service")
	}

	// The technician sets up the pod and enables the unit; the pod keeps a store.
	run(t, systemctl, "--root="+root, "enable", "podd.service")
	if !exists(wants) {
		t.Fatal("systemctl --root enable made no symlink")
	}
	yaml := append(must(os.ReadFile(r("etc/podd/pod.yaml"))), "# set up by the technician\n"...)
	mustWrite(t, r("etc/podd/pod.yaml"), yaml, 0o640)
	mustWrite(t, r("var/lib/podd/podd.db"), []byte("store"), 0o640)

	// Upgrade: still enabled, the technician's pod.yaml and the store kept.
	dpkgIn("-i", v2)
	if s := status(); s != "install ok installed 1.0.1" {
		t.Fatalf("after upgrade: %q", s)
	}
	if l, err := os.Readlink(wants); err != nil || l != "/usr/lib/systemd/system/podd.service" {
		t.Errorf("after upgrade the unit is not enabled: %q, %v", l, err)
	}
	if got := must(os.ReadFile(r("etc/podd/pod.yaml"))); !bytes.Equal(got, yaml) {
		t.Errorf("the upgrade replaced the technician's pod.yaml")
	}
	if !exists(r("var/lib/podd/podd.db")) {
		t.Errorf("the upgrade lost the store")
	}

	// Remove: the programs go; configuration and state stay.
	dpkgIn("-r", "podd")
	if s := status(); s != "deinstall ok config-files 1.0.1" {
		t.Fatalf("after remove: %q", s)
	}
	for _, p := range []string{"usr/bin/podd", "usr/bin/podctl", "usr/lib/systemd/system/podd.service"} {
		if exists(r(p)) {
			t.Errorf("/%s is left after remove", p)
		}
	}
	for _, p := range []string{"etc/podd/pod.yaml", "var/lib/podd/podd.db"} {
		if !exists(r(p)) {
			t.Errorf("remove deleted /%s", p)
		}
	}

	// Purge: configuration, state and enablement go; the user stays.
	dpkgIn("-P", "podd")
	if s := status(); s != "dpkg-query: no packages found matching podd\n" {
		t.Errorf("after purge dpkg still knows podd: %q", s)
	}
	for _, p := range []string{"etc/podd", "var/lib/podd", "run/podd", "etc/systemd/system/multi-user.target.wants/podd.service",
		"var/lib/systemd/deb-systemd-helper-enabled/podd.service.dsh-also", "var/lib/systemd/deb-systemd-helper-masked/podd.service"} {
		if exists(r(p)) {
			t.Errorf("/%s is left after purge", p)
		}
	}
	if !regexp.MustCompile(`(?m)^podd:x:` + uid + `:`).Match(must(os.ReadFile(r("etc/passwd")))) {
		t.Errorf("purge deleted the podd user")
	}

	// Every call the scripts made worked on the root: systemd's tools with
	// --root, deb-systemd-helper under DPKG_ROOT, and nothing that acts on
	// running services or devices.
	calls := strings.Split(strings.TrimSpace(string(must(os.ReadFile(spyLog)))), "\n")
	if len(calls) < 4 {
		t.Errorf("the scripts made %d calls of %v, want the user, directories and enablement:\n%s", len(calls), spyTools, strings.Join(calls, "\n"))
	}
	for _, c := range calls {
		name, rest, _ := strings.Cut(c, " ")
		env, args, _ := strings.Cut(rest, " ")
		switch {
		case env != "DPKG_ROOT="+root:
			t.Errorf("%q: run without DPKG_ROOT=%s", c, root)
		case name == "systemd-sysusers" || name == "systemd-tmpfiles":
			if !strings.HasPrefix(args, "--root="+root+" ") {
				t.Errorf("%q: not confined to the root", c)
			}
		case name == "deb-systemd-helper":
		default:
			t.Errorf("%q: acts on the running system", c)
		}
	}
}

// modeOwner is "MODE UID:GID" of path.
func modeOwner(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("stat", "-c", "%A %u:%g", path).CombinedOutput()
	if err != nil {
		t.Fatalf("stat %s: %v\n%s", path, err, out)
	}
	return strings.TrimSpace(string(out))
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func mapsEqual(a, b map[string]string) bool {
	ka := make([]string, 0, len(a))
	for k := range a {
		ka = append(ka, k)
	}
	slices.Sort(ka)
	for _, k := range ka {
		if a[k] != b[k] {
			return false
		}
	}
	return len(a) == len(b)
}

// TestPrermStopsOnlyOnRemove runs prerm with every first argument dpkg
// gives it, the tools replaced by loggers: it stops the service on remove
// and deconfigure, and only on a running systemd without DPKG_ROOT; an
// upgrade stops nothing (the new postinst restarts the service).
func TestPrermStopsOnlyOnRemove(t *testing.T) {
	sh := lookTool(t, "sh")
	systemdRunning := false
	if fi, err := os.Stat("/run/systemd/system"); err == nil && fi.IsDir() {
		systemdRunning = true
	}
	for _, c := range []struct {
		arg, dpkgRoot string
		stops         bool
	}{
		{"remove", "", systemdRunning},
		{"deconfigure", "", systemdRunning},
		{"upgrade", "", false},
		{"failed-upgrade", "", false},
		{"remove", "/nonexistent-root", false},
		{"upgrade", "/nonexistent-root", false},
	} {
		dir, log := spy(t, true)
		cmd := exec.Command(sh, "./prerm", c.arg, "1.0.1")
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "DPKG_ROOT="+c.dpkgRoot)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("prerm %s: %v\n%s", c.arg, err, out)
		}
		calls, err := os.ReadFile(log)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		want := ""
		if c.stops {
			want = "deb-systemd-invoke DPKG_ROOT= stop podd.service\n"
		}
		if string(calls) != want {
			t.Errorf("prerm %s (DPKG_ROOT=%q): calls %q, want %q", c.arg, c.dpkgRoot, calls, want)
		}
	}
}
