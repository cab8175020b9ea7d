// Command podctl is the technician's tool for a pod: it talks to podd's local
// API on its Unix socket.
//
//	podctl status            show the pod's state, safety, vitals and uplink
//	podctl ack               clear a latched abort (refused while still unsafe)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/api"
)

func main() {
	if err := newRoot(os.Stdout).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "podctl:", err)
		if errors.Is(err, api.ErrRefused) {
			os.Exit(3)
		}
		os.Exit(1)
	}
}

func newRoot(out io.Writer) *cobra.Command {
	var socket string
	var asJSON bool
	root := &cobra.Command{
		Use:           "podctl",
		Short:         "Service tool for a Sleegation pod",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&socket, "socket", envOr("PODCTL_SOCKET", "/run/podd/podd.sock"), "podd's API socket")
	root.PersistentFlags().BoolVar(&asJSON, "json", false, "print the raw JSON reply")

	// request runs one call against the pod and prints its reply as JSON or as text.
	request := func(call func(context.Context, *api.Client) (any, error), text func(any) string) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			c := api.NewClient(socket)
			defer c.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
			defer cancel()
			reply, err := call(ctx, c)
			if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
				return fmt.Errorf("podd is not running, or not on %s (--socket or PODCTL_SOCKET): %w", socket, err)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(out, reply)
			}
			fmt.Fprint(out, text(reply))
			return nil
		}
	}
	root.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Show the pod's state, safety, vitals and uplink",
		Args:  cobra.NoArgs,
		RunE: request(
			func(ctx context.Context, c *api.Client) (any, error) { return c.Status(ctx) },
			func(v any) string { return formatStatus(v.(api.Status)) }),
	})
	root.AddCommand(&cobra.Command{
		Use:   "ack",
		Short: "Acknowledge and clear a latched abort",
		Args:  cobra.NoArgs,
		RunE: request(
			func(ctx context.Context, c *api.Client) (any, error) { return c.Ack(ctx) },
			func(v any) string {
				a := v.(api.AckReply).Cleared
				return fmt.Sprintf("cleared abort %s (%s)\n", a.Rule, a.Detail)
			}),
	})
	return root
}

func formatStatus(st api.Status) string {
	var b strings.Builder
	sim := ""
	if st.Simulated {
		sim = " (SIMULATED)"
	}
	fmt.Fprintf(&b, "pod        %s%s\n", st.Pod, sim)
	fmt.Fprintf(&b, "state      %s since %s\n", st.State, st.Since.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "safety     %s", st.Safety.Level)
	if len(st.Safety.Pending) > 0 {
		fmt.Fprintf(&b, " (pending: %s)", strings.Join(st.Safety.Pending, ", "))
	}
	b.WriteString("\n")
	if a := st.Safety.Latched; a != nil {
		fmt.Fprintf(&b, "latched    %s: %s\n", a.Rule, a.Detail)
		fmt.Fprintf(&b, "           at %s, safe state in %.2f ms\n", a.At.UTC().Format(time.RFC3339), a.LatencyMS)
	}
	fmt.Fprintf(&b, "heart rate %s\n", orUnknown(st.Vitals.HeartRateBPM, "%.0f bpm"))
	fmt.Fprintf(&b, "SpO2       %s\n", orUnknown(st.Vitals.SpO2Pct, "%.1f %%"))
	conn := "disconnected"
	if st.Uplink.Connected {
		conn = "connected"
	}
	fmt.Fprintf(&b, "uplink     %s %s, %d waiting\n", st.Uplink.Broker, conn, st.Uplink.Outbox)
	if st.Sim != nil {
		light := "lit"
		if st.Sim.StripDark {
			light = "dark"
		}
		fmt.Fprintf(&b, "sim strip  %s after %d frames\n", light, st.Sim.StripFrames)
	}
	fmt.Fprintf(&b, "version    %s, boot %s\n", st.Version, st.Boot)
	return b.String()
}

func orUnknown(v *float64, format string) string {
	if v == nil {
		return "unknown"
	}
	return fmt.Sprintf(format, *v)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
