package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/internal/doctor"
)

// scanCommand is podctl scan: which chips answer on the pod's buses.
func scanCommand(out io.Writer) *cobra.Command {
	var config, bus string
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "List the chips that answer at the addresses the pod knows, by their ID registers",
		Long: `Probe, on the configuration's I2C buses (or --bus), only the addresses of
the pod's chips (MAX30102 0x57, TMP117 and ADS1115 0x48-0x4B, PCA9685 0x40
and its configured address, DRV2605L 0x5A) and the ADS1299 on its SPI
port, and tell each chip by its ID registers with read-only transfers.
Each line: the bus, the address, the chip, how it was told, and what the
configuration puts there.

Refused while podd runs (it holds the buses): stop it first, or read
podctl status, which lists the health of podd's sensors.

Exit status: 0 every configured chip where expected; 5 a chip missing or
another where one is expected; 3 refused (podd runs); 1 an error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, c, cfgRes := checker(cmd, config)
			if d == nil {
				return printResults(cmd, out, []doctor.Result{cfgRes})
			}
			defer c.Close()
			found, err := d.Scan(cmd.Context(), bus)
			if errors.Is(err, doctor.ErrPoddRunning) {
				return refusedError{err}
			}
			if err != nil {
				return err
			}
			if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
				if err := printJSON(out, found); err != nil {
					return err
				}
			} else {
				fmt.Fprint(out, formatFound(found))
			}
			for _, f := range found {
				if f.Verdict == doctor.Fail {
					return errChecksFailed
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&config, "config", defaultConfig, "podd's configuration file")
	cmd.Flags().StringVar(&bus, "bus", "", "scan only this I2C bus (a periph name: 1, I2C1, /dev/i2c-1)")
	return cmd
}

// formatFound is scan's table.
func formatFound(fs []doctor.Found) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-4s  %-7s  %-7s  %-8s  %-28s  %s\n", "", "BUS", "ADDRESS", "CHIP", "EXPECTED", "HOW")
	for _, f := range fs {
		addr := "-"
		if f.Address != 0 {
			addr = fmt.Sprintf("0x%02X", f.Address)
		}
		chip, want := f.Chip, f.Expected
		if chip == "" {
			chip = "?"
		}
		if want == "" {
			want = "nothing"
		}
		fmt.Fprintf(&b, "%-4s  %-7s  %-7s  %-8s  %-28s  %s\n", strings.ToUpper(string(f.Verdict)), f.Bus, addr, chip, want, f.How)
	}
	if len(fs) == 0 {
		b.WriteString("nothing answers at the addresses the pod knows\n")
	}
	return b.String()
}
