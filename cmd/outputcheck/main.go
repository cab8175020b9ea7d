// Command outputcheck checks what a simulated pod showed: it reads the
// output record podd wrote in sim mode (sim.record_outputs) and the pod's
// configuration (for its light zones), and judges each zone's light and
// the whole pod's against the flash rules (package flashcheck: at most 3
// general and 3 red flashes in any second, fewer than 6 changes of 10 % in
// any second, no periodic modulation of 10 % depth between 3 and 60 Hz).
// It prints a line per zone and exits 0 when nothing breaks the rules, 1
// when something does, 2 on bad input.
//
//	outputcheck --config configs/sim.yaml var/outputs.jsonl
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sleegation/podd/actuators/flashcheck"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/internal/outputcheck"
	"github.com/sleegation/podd/sim"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("outputcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "configs/sim.yaml", "the pod's configuration (its light zones)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: outputcheck [--config FILE] RECORD")
		return 2
	}
	cfg, err := configs.Load(*config, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer f.Close()
	frames, err := sim.ReadOutputRecord(f)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	s, r, err := outputcheck.Check(zonesOf(cfg.Lights.Zones), frames)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	bad := 0
	for i, z := range r.Zones {
		bad += report(stdout, s.Names[i], z)
	}
	bad += report(stdout, "pod", r.Whole)
	if bad > 0 {
		return 1
	}
	return 0
}

// report prints one stream's line and returns how many violations it has.
func report(w io.Writer, name string, r flashcheck.Report) int {
	fmt.Fprintf(w, "%-8s %6d samples over %-10s worst second: %d general flashes, %d red, %d changes; modulation %.3f at %.1f Hz",
		name, r.Samples, r.Span.Round(time.Millisecond), r.General.Flashes, r.Red.Flashes, r.Rate.Changes, r.Mod.Depth, r.Mod.Hz)
	vs := r.Violations()
	if len(vs) == 0 {
		fmt.Fprintln(w, ": ok")
	} else {
		fmt.Fprintf(w, ": BREAKS %v\n", vs)
	}
	return len(vs)
}

// zonesOf is the configuration's zones as outputcheck takes them.
func zonesOf(zs []configs.ZoneConfig) []outputcheck.Zone {
	out := make([]outputcheck.Zone, len(zs))
	for i, z := range zs {
		out[i] = outputcheck.Zone{Name: z.Name, First: z.First, Count: z.Count, PWM: z.PWM}
	}
	return out
}
