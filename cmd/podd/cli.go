package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/internal/buildinfo"
)

// DefaultConfig is where podd reads its configuration without --config:
// the Debian package installs it (a conffile).
const DefaultConfig = "/etc/podd/pod.yaml"

// options are podd's command line.
type options struct {
	config  string
	version bool
	json    bool
}

// parseFlags reads podd's command line. --help prints the usage, with the
// PODD_ environment variables, to stdout and returns flag.ErrHelp; a bad
// flag is reported on stderr with the usage and returned.
func parseFlags(args []string, stdout, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("podd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.config, "config", DefaultConfig, "configuration file (YAML)")
	fs.BoolVar(&o.version, "version", false, "print the version, commit and build date, and exit")
	fs.BoolVar(&o.json, "json", false, "with --version: print them as a JSON object")
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdout)
			break
		}
	}
	fs.Usage = func() { usage(fs) }
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q (podd takes flags only)", fs.Arg(0))
		fmt.Fprintln(stderr, err)
		usage(fs)
		return o, err
	}
	return o, nil
}

// usage prints podd's flags and how the environment overrides the
// configuration, with every variable.
func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, `Usage: podd [--config FILE] [--version [--json]]

podd is the Sleegation pod controller daemon. It reads FILE
(default %s). To run the simulator from a source checkout:
podd --config configs/sim.yaml

Flags:
`, DefaultConfig)
	fs.PrintDefaults()
	fmt.Fprint(w, `
Environment:
  Every configuration key can be overridden by a variable named PODD_ and
  the key's path in upper case, with _ for each dot:
    telemetry.interval      PODD_TELEMETRY_INTERVAL=5s
    uplink.broker           PODD_UPLINK_BROKER=tcp://10.0.0.2:1883
                            (a list of brokers: comma-separated)
    safety.spo2_low_pct     PODD_SAFETY_SPO2_LOW_PCT=92
  A PODD_ variable that names no key stops podd, as an unknown key in the
  file does. The variables (configs/doc.go describes each key):
`)
	const width = 78
	line := " "
	for _, k := range configs.Keys() {
		v := " " + configs.EnvName(k)
		if len(line)+len(v) > width {
			fmt.Fprintln(w, line)
			line = " "
		}
		line += v
	}
	fmt.Fprintln(w, line)
	fmt.Fprint(w, `
Exit status: 0 stopped on SIGTERM or SIGINT; 1 a configuration or start
failure (one line per problem on stderr); 2 a bad command line.
`)
}

// printVersion prints the build's identity: one line, or a JSON object.
func printVersion(w io.Writer, asJSON bool) error {
	i := buildinfo.Get()
	if asJSON {
		return json.NewEncoder(w).Encode(i)
	}
	_, err := fmt.Fprintln(w, "podd", i)
	return err
}

// loadConfig loads the configuration as podd runs it. A missing file says
// where a configuration comes from.
func loadConfig(path string, environ []string) (*configs.Config, error) {
	cfg, err := configs.Load(path, environ)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w\n%s", err, missingConfigHint(path))
	}
	return cfg, err
}

// missingConfigHint says how to get a configuration file at path.
func missingConfigHint(path string) string {
	var b strings.Builder
	if path == DefaultConfig {
		b.WriteString("  the Debian package installs " + DefaultConfig + ": restore it with\n" +
			"    sudo apt install --reinstall -o Dpkg::Options::=--force-confmiss podd\n" +
			"  then set pod.id (and the hub's broker) in it;\n")
	} else {
		b.WriteString("  check the path given to --config;\n")
	}
	b.WriteString("  to run the simulator from a source checkout: podd --config configs/sim.yaml (or make run)")
	return b.String()
}
