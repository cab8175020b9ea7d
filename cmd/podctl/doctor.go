package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/internal/doctor"
)

// doctorCommand is podctl doctor: is the pod ready?
func doctorCommand(out io.Writer) *cobra.Command {
	var config string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the pod: configuration, buses, chips, GPIO lines, broker, clock, disk, store",
		Long: `Check that the pod is ready, a line each (PASS, WARN, FAIL or SKIP) with
the fix to try under a failure or a warning: the configuration (as podd
loads it, PODD_ variables included); podd's API socket; each bus device
node (/dev/i2c-N, /dev/spidevB.C, /dev/gpiochipN) present and openable;
each configured chip answering with its ID; each configured GPIO line free
or held by podd; each broker (TCP, TLS certificate and host name, MQTT
CONNECT with the pod's credentials); the clock synchronised; the store's
disk space; the store's integrity.

While podd runs, the chips and the store are judged by what podd reports
and no bus is opened; otherwise the hardware is checked directly (the
simulator's models with hardware.mode sim: run podctl from the directory
podd runs in). Probes only read registers.

Exit status: 0 every check passed (warnings do not fail); 5 a check
failed; 1 podctl itself failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, c, cfgRes := checker(cmd, config)
			rs := []doctor.Result{cfgRes}
			if d != nil {
				defer c.Close()
				rs = append(rs, d.Run(cmd.Context())...)
			}
			return printResults(cmd, out, rs)
		},
	}
	cmd.Flags().StringVar(&config, "config", defaultConfig, "podd's configuration file")
	return cmd
}
