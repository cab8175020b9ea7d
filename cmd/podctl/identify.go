package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
)

// identifyCommand is podctl identify: a light to find the pod by.
func identifyCommand(request requester) *cobra.Command {
	var d time.Duration
	cmd := &cobra.Command{
		Use:   "identify",
		Short: "Show a steady cool blue light on the pod's strip so you can find it",
		Long: fmt.Sprintf(`Ask podd to show its identify light, a steady cool blue on the whole
strip, for --for (1s..2m, whole seconds; default %s), changing to it and
back as slowly as the photosensitivity guard allows: no flash. podd refuses
while someone may lie in the pod, during a merge, with an abort latched or
with the outputs in their safe state (exit status 3), and shows nothing
when podd is not running: the strip is podd's, and a light shown around it
would bypass the guard.`, controller.DefaultIdentify),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if d%time.Second != 0 {
				return fmt.Errorf("--for %v: whole seconds", d)
			}
			return request(
				func(ctx context.Context, c *api.Client) (any, error) { return c.Identify(ctx, d) },
				func(v any) string { return formatIdentify(v.(api.IdentifyReply)) })(cmd, args)
		},
	}
	cmd.Flags().DurationVar(&d, "for", controller.DefaultIdentify, "how long the light shows (1s..2m)")
	return cmd
}

func formatIdentify(r api.IdentifyReply) string {
	return fmt.Sprintf("identify   the strip shows a steady cool blue for %d s, then its light again\n", r.DurationS)
}
