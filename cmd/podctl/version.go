package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/internal/buildinfo"
)

// versionCommand is `podctl version`: this podctl's build (version, commit,
// build date), one line or, with --json, an object (buildinfo.Info). It
// needs no podd: podctl status shows the daemon's version.
func versionCommand(out io.Writer, asJSON *bool) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print podctl's version, commit and build date (podctl status shows podd's)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			i := buildinfo.Get()
			if *asJSON {
				return printJSON(out, i)
			}
			_, err := fmt.Fprintln(out, "podctl", i)
			return err
		},
	}
}
