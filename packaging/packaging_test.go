package packaging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestEveryPackagedFileExists(t *testing.T) {
	b, err := os.ReadFile("nfpm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Contents []struct{ Src, Dst, Type string }
		Scripts  map[string]string
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Contents) == 0 || len(cfg.Scripts) == 0 {
		t.Fatalf("nfpm.yaml lists %d files and %d scripts", len(cfg.Contents), len(cfg.Scripts))
	}
	dsts := map[string]bool{}
	for _, c := range cfg.Contents {
		dsts[c.Dst] = true
		if strings.HasPrefix(c.Src, "bin/") {
			continue // built by make deb
		}
		if _, err := os.Stat(filepath.Join("..", c.Src)); err != nil {
			t.Errorf("%s (for %s): %v", c.Src, c.Dst, err)
		}
	}
	for _, s := range cfg.Scripts {
		fi, err := os.Stat(filepath.Join("..", s))
		if err != nil {
			t.Errorf("script %s: %v", s, err)
		} else if fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("script %s is not executable", s)
		}
	}
	// The unit runs what the package installs, with the config it installs.
	unit, err := os.ReadFile("../systemd/podd.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/usr/bin/podd", "/etc/podd/pod.yaml"} {
		if !strings.Contains(string(unit), want) || !dsts[want] {
			t.Errorf("%s: in the unit %v, in the package %v", want, strings.Contains(string(unit), want), dsts[want])
		}
	}
}
