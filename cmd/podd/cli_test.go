package main

import (
	"encoding/json"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/internal/buildinfo"
)

// Finding: podd --help did not mention the PODD_ variables. It says how a
// key maps to its variable, with examples, and lists every variable.
func TestHelpListsThePODDVariables(t *testing.T) {
	var stdout, stderr strings.Builder
	_, err := parseFlags([]string{"--help"}, &stdout, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseFlags(--help) = %v, want flag.ErrHelp", err)
	}
	help := stdout.String()
	for _, want := range []string{
		"Usage: podd [--config FILE] [--version [--json]]",
		"-config string",
		"configuration file (YAML) (default \"/etc/podd/pod.yaml\")",
		"Every configuration key can be overridden by a variable named PODD_ and\n  the key's path in upper case, with _ for each dot:",
		"    telemetry.interval      PODD_TELEMETRY_INTERVAL=5s\n",
		"    uplink.broker           PODD_UPLINK_BROKER=tcp://10.0.0.2:1883\n",
		"podd --config configs/sim.yaml",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("podd --help lacks %q:\n%s", want, help)
		}
	}
	listed := strings.Fields(help[strings.Index(help, "The variables"):strings.Index(help, "Exit status")])
	for _, k := range configs.Keys() {
		if !strings.Contains(" "+strings.Join(listed, " ")+" ", " "+configs.EnvName(k)+" ") {
			t.Errorf("podd --help does not list %s (%s)", configs.EnvName(k), k)
		}
	}
	for _, l := range strings.Split(help, "\n") {
		if len(l) > 80 {
			t.Errorf("a help line is %d columns wide: %q", len(l), l)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("--help wrote to stderr: %q", stderr.String())
	}
}

// Finding: podd without flags failed on /etc/podd/pod.yaml with no hint.
// The error says how to restore the package's file, and how to run the
// simulator instead; another missing path says to check --config.
func TestAMissingConfigurationSaysWhereOneComesFrom(t *testing.T) {
	o, err := parseFlags(nil, new(strings.Builder), new(strings.Builder))
	if err != nil || o.config != DefaultConfig || o.version {
		t.Fatalf("parseFlags() = %+v, %v", o, err)
	}
	if _, err := loadConfig(filepath.Join(t.TempDir(), "pod.yaml"), nil); err == nil || !strings.HasSuffix(err.Error(), "\n  check the path given to --config;\n  to run the simulator from a source checkout: podd --config configs/sim.yaml (or make run)") {
		t.Fatalf("loadConfig of a missing file = %v", err)
	}
	want := "  the Debian package installs /etc/podd/pod.yaml: restore it with\n" +
		"    sudo apt install --reinstall -o Dpkg::Options::=--force-confmiss podd\n" +
		"  then set pod.id (and the hub's broker) in it;\n" +
		"  to run the simulator from a source checkout: podd --config configs/sim.yaml (or make run)"
	if got := missingConfigHint(DefaultConfig); got != want {
		t.Fatalf("missingConfigHint(default) =\n%s\nwant\n%s", got, want)
	}
}

// podd --version prints the build's line; with --json, the object.
func TestVersionFlag(t *testing.T) {
	o, err := parseFlags([]string{"--version", "--json"}, new(strings.Builder), new(strings.Builder))
	if err != nil || !o.version || !o.json {
		t.Fatalf("parseFlags(--version --json) = %+v, %v", o, err)
	}
	var out strings.Builder
	if err := printVersion(&out, false); err != nil || out.String() != "podd "+buildinfo.Get().String()+"\n" {
		t.Fatalf("printVersion = %q, %v", out.String(), err)
	}
	out.Reset()
	if err := printVersion(&out, true); err != nil {
		t.Fatal(err)
	}
	var got buildinfo.Info
	if err := json.Unmarshal([]byte(out.String()), &got); err != nil || got != buildinfo.Get() {
		t.Fatalf("printVersion --json = %q (%v), want %+v", out.String(), err, buildinfo.Get())
	}
	var stderr strings.Builder
	if _, err := parseFlags([]string{"extra"}, new(strings.Builder), &stderr); err == nil || !strings.HasPrefix(stderr.String(), "unexpected argument \"extra\" (podd takes flags only)\nUsage: podd") {
		t.Fatalf("parseFlags(extra) = %v, stderr %q", err, stderr.String())
	}
}
