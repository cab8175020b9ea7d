package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/internal/doctor"
)

// selfTestSensors runs podctl selftest sensors: every sensor read gently,
// through podd when it runs, directly otherwise.
func selfTestSensors(cmd *cobra.Command, out io.Writer, config string, d time.Duration) error {
	doc, c, cfgRes := checker(cmd, config)
	if doc == nil {
		return printResults(cmd, out, []doctor.Result{cfgRes})
	}
	defer c.Close()
	rs, err := doc.TestSensors(cmd.Context(), d)
	if err != nil {
		return err
	}
	return printResults(cmd, out, rs)
}

// selfTestSensorsFlags adds the flags of selftest sensors to the selftest
// command: --config and --for.
func selfTestSensorsFlags(cmd *cobra.Command, config *string, d *time.Duration) {
	cmd.Flags().StringVar(config, "config", defaultConfig, "podd's configuration file (sensors: what to read, and how when podd is not running)")
	cmd.Flags().DurationVar(d, "for", doctor.SensorTestTime, fmt.Sprintf("sensors, podd not running: how long each sensor is read, at most %s (podd running: %s)", doctor.MaxSensorTestTime, "3s"))
}
