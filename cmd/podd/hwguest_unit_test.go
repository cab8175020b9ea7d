//go:build hwtest

package main

// make hwtest: the systemd unit's device allow-list against the guest's
// kernel.

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The unit's DevicePolicy=closed allows devices by the names their drivers
// register in /proc/devices: every char-NAME it allows must be one the
// kernel has, and every node linux mode opens must be allowed.
func TestHWUnitDeviceAllowMatchesTheKernelsDeviceNames(t *testing.T) {
	unit, err := os.ReadFile("../../systemd/podd.service")
	if err != nil {
		t.Fatal(err)
	}
	var allowed []string
	for _, l := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(l, "DeviceAllow="); ok {
			if name, ok := strings.CutPrefix(strings.Fields(v)[0], "char-"); ok {
				allowed = append(allowed, name)
			}
		}
	}
	if len(allowed) == 0 {
		t.Fatal("the unit allows no char-NAME")
	}
	names := charDevices(t) // major -> name
	for _, a := range allowed {
		found := false
		for _, n := range names {
			found = found || n == a
		}
		if !found {
			t.Errorf("DeviceAllow=char-%s: the kernel has no character device %q (/proc/devices)", a, a)
		}
	}
	_, gpio := simChip(t)
	for _, node := range []string{stubBus, "/dev/spidev0.0", "/dev/spidev1.0", gpio} {
		var st syscall.Stat_t
		if err := syscall.Stat(node, &st); err != nil {
			t.Fatal(err)
		}
		major := int(unix.Major(st.Rdev))
		if name := names[major]; !slices.Contains(allowed, name) {
			t.Errorf("%s (major %d, %q): not in the unit's DeviceAllow=char-* %q", node, major, name, allowed)
		}
	}
}

// charDevices is /proc/devices's character devices: major -> name.
func charDevices(t *testing.T) map[int]string {
	t.Helper()
	f, err := os.Open("/proc/devices")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int]string{}
	sc := bufio.NewScanner(f)
	inChar := false
	for sc.Scan() {
		switch l := strings.TrimSpace(sc.Text()); {
		case l == "Character devices:":
			inChar = true
		case l == "" || strings.HasSuffix(l, ":"):
			inChar = false
		case inChar:
			var major int
			var name string
			if _, err := fmt.Sscan(l, &major, &name); err == nil {
				out[major] = name
			}
		}
	}
	return out
}
