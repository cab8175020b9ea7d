package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/dreamscape"
)

// configReport is what config check found: a summary of a configuration
// podd would take, or its problems, one a line as podd prints them.
type configReport struct {
	OK       bool     `json:"ok"`
	File     string   `json:"file"`
	Problems []string `json:"problems,omitempty"`
	// The summary, when OK.
	Pod     string   `json:"pod,omitempty"`
	Mode    string   `json:"mode,omitempty"`
	Sensors []string `json:"sensors,omitempty"`
	LEDs    int      `json:"leds,omitempty"`
	Zones   []string `json:"zones,omitempty"`
	Places  []string `json:"places,omitempty"`
	Brokers []string `json:"brokers,omitempty"`
	// Program is dreamscape.program's name, checked and bound to the
	// zones and places; empty when the file names none.
	Program string `json:"program,omitempty"`
}

// configCommand is `podctl config check FILE`: it loads FILE as podd does
// (configs.Load: the same keys, bounds and cross-checks), without the
// PODD_ variables unless --env, and checks the dreamscape program it
// names against its zones and places. It needs no podd.
func configCommand(out io.Writer, asJSON *bool) *cobra.Command {
	group := &cobra.Command{
		Use:   "config",
		Short: "Check a configuration file without podd",
		Args:  cobra.NoArgs,
		RunE:  groupHelp,
	}
	var withEnv bool
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Load FILE as podd would and print a summary or every problem",
		Long: `Load FILE exactly as podd loads its configuration: every key, its bounds
and the checks between keys, the TLS and password files it names. The
PODD_ variables of this shell are left out unless --env is given (podd's
unit sets none). A dreamscape program named by dreamscape.program is read
(a relative path from the working directory, as podd reads it) and
checked against the file's light zones and haptic places.

Prints "ok" and a summary (pod id, sensors, outputs, broker), or every
problem on its own line with its key. Exit status: 0 ok; 2 problems or no
such file. podd need not run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			var environ []string
			if withEnv {
				environ = os.Environ()
			}
			r := checkConfig(args[0], environ)
			if *asJSON {
				if err := printJSON(out, r); err != nil {
					return err
				}
			} else {
				fmt.Fprint(out, formatConfigReport(r))
			}
			if !r.OK {
				return badInput{fmt.Errorf("%s: %s", r.File, plural(len(r.Problems), "problem"))}
			}
			return nil
		},
	}
	check.Flags().BoolVar(&withEnv, "env", false, "apply this shell's PODD_ variables, as podd would")
	group.AddCommand(check)
	return group
}

// checkConfig loads the configuration at path with environ's overrides
// and checks its dreamscape program.
func checkConfig(path string, environ []string) configReport {
	r := configReport{File: path}
	cfg, err := configs.Load(path, environ)
	if err != nil {
		r.Problems = problemLines(err)
		return r
	}
	r.OK = true
	r.Pod, r.Mode = cfg.Pod.ID, string(cfg.Hardware.Mode)
	r.Sensors = cfg.Sensors.Enabled()
	r.LEDs = cfg.Hardware.LEDCount
	for _, z := range cfg.Lights.Zones {
		r.Zones = append(r.Zones, z.Name)
	}
	for _, p := range cfg.Haptics.Places {
		r.Places = append(r.Places, p.Name)
	}
	r.Brokers = cfg.Uplink.Brokers
	if cfg.Uplink.Embedded() {
		r.Brokers = []string{"embedded (" + cfg.Uplink.EmbeddedListen + ", loopback)"}
	}
	if p := cfg.Dreamscape.Program; p != "" {
		prog, err := dreamscape.Load(p)
		if err == nil {
			_, err = prog.Bind(r.Zones, r.Places)
		}
		if err != nil {
			r.OK = false
			for _, l := range problemLines(err) {
				r.Problems = append(r.Problems, path+": dreamscape.program: "+l)
			}
			return r
		}
		r.Program = prog.Name
	}
	return r
}

// problemLines splits a loader's error into its lines, one problem each.
func problemLines(err error) []string {
	var lines []string
	for l := range strings.SplitSeq(err.Error(), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		lines = []string{errors.Unwrap(err).Error()}
	}
	return lines
}

// formatConfigReport is config check's text: "ok" and the summary, or the
// problems.
func formatConfigReport(r configReport) string {
	var b strings.Builder
	if !r.OK {
		for _, p := range r.Problems {
			fmt.Fprintln(&b, p)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "ok         %s\n", r.File)
	fmt.Fprintf(&b, "pod        %s (hardware.mode %s)\n", r.Pod, r.Mode)
	fmt.Fprintf(&b, "sensors    %s\n", listOr(r.Sensors, "none"))
	fmt.Fprintf(&b, "lights     %d LEDs; zones %s\n", r.LEDs, listOr(r.Zones, "none"))
	fmt.Fprintf(&b, "haptics    %s\n", listOr(r.Places, "no places"))
	fmt.Fprintf(&b, "broker     %s\n", listOr(r.Brokers, "none"))
	if r.Program != "" {
		fmt.Fprintf(&b, "program    %s (checked against the zones and places)\n", r.Program)
	}
	return b.String()
}

func listOr(xs []string, none string) string {
	if len(xs) == 0 {
		return none
	}
	return strings.Join(xs, ", ")
}

// plural is "1 problem", "3 problems".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
