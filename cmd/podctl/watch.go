package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/api"
)

// minWatchInterval bounds --interval from below: each poll builds the
// pod's whole status.
const minWatchInterval = 100 * time.Millisecond

// watchCommand is `podctl watch`: the pod's state, safety, vitals, outputs
// and findings, polled every --interval and redrawn in place on a
// terminal; on a pipe or file, one block after another; with --json one
// object a line. Ctrl-C (or SIGTERM) ends it with exit status 0.
func watchCommand(out io.Writer, socket *string, asJSON *bool) *cobra.Command {
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Follow the pod's state, vitals and outputs, refreshed in place",
		Long: `Poll the pod's status every --interval (default 1s) and show its state,
safety, vitals, outputs and what is wrong. On a terminal the screen is
redrawn in place; otherwise each poll prints a block, a blank line after
it. --json prints one JSON object a line: {"at", "state", "since",
"safety", "vitals", "outputs", "show", "findings"}, or {"at", "error"}
while podd does not answer (watch keeps polling). Ctrl-C ends it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if interval < minWatchInterval {
				return badInput{fmt.Errorf("--interval %v is below %v", interval, minWatchInterval)}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			c := api.NewClient(*socket)
			defer c.Close()
			w := &watcher{
				out: out, interval: interval, json: *asJSON, tty: isTerminal(out),
				fetch: func(ctx context.Context) (api.Status, error) {
					ctx, cancel := context.WithTimeout(ctx, max(interval, 2*time.Second))
					defer cancel()
					st, err := c.Status(ctx)
					return st, explainDialError(*socket, err)
				},
			}
			return w.run(ctx)
		},
	}
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "how often to poll the pod (at least 100ms)")
	return cmd
}

// watcher polls the pod and draws what it says.
type watcher struct {
	out      io.Writer
	interval time.Duration
	json     bool // one JSON object a line
	tty      bool // redraw in place (ANSI: cursor home, clear screen)
	fetch    func(context.Context) (api.Status, error)
}

// Cursor home and clear the screen (ECMA-48 CUP and ED).
const clearScreen = "\x1b[H\x1b[2J"

// run draws a frame at once and then at every tick until ctx is done; it
// returns nil then, or the first error writing out.
func (w *watcher) run(ctx context.Context) error {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		st, err := w.fetch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err := w.draw(time.Now(), st, err); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// watchSample is one line of watch --json.
type watchSample struct {
	At       time.Time         `json:"at"`
	Error    string            `json:"error,omitempty"`
	State    string            `json:"state,omitempty"`
	Since    *time.Time        `json:"since,omitempty"`
	Safety   *api.SafetyStatus `json:"safety,omitempty"`
	Vitals   *api.Vitals       `json:"vitals,omitempty"`
	Outputs  *api.Outputs      `json:"outputs,omitempty"`
	Show     *api.ShowStatus   `json:"show,omitempty"`
	Findings []finding         `json:"findings,omitempty"`
}

func (w *watcher) draw(at time.Time, st api.Status, fetchErr error) error {
	if w.json {
		s := watchSample{At: at.UTC()}
		if fetchErr != nil {
			s.Error = fetchErr.Error()
		} else {
			s.State, s.Since, s.Safety, s.Vitals, s.Outputs, s.Show = st.State, &st.Since, &st.Safety, &st.Vitals, &st.Outputs, st.Show
			s.Findings = findings(st)
		}
		b, err := json.Marshal(s)
		if err != nil {
			return err
		}
		_, err = w.out.Write(append(b, '\n'))
		return err
	}
	var b strings.Builder
	if w.tty {
		b.WriteString(clearScreen)
	}
	b.WriteString(formatWatch(at, w.interval, st, fetchErr))
	if !w.tty {
		b.WriteString("\n")
	}
	_, err := io.WriteString(w.out, b.String())
	return err
}

// formatWatch is one frame: a heading with the time, then the pod's
// state, safety, vitals, outputs and show, then the findings.
func formatWatch(at time.Time, every time.Duration, st api.Status, fetchErr error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "podctl watch, every %v (Ctrl-C ends)   %s\n", every, stamp(at))
	if fetchErr != nil {
		fmt.Fprintf(&b, "podd       NOT ANSWERING: %v\n           retrying\n", fetchErr)
		return b.String()
	}
	sim := ""
	if st.Simulated {
		sim = " (SIMULATED)"
	}
	fmt.Fprintf(&b, "pod        %s%s\n", st.Pod, sim)
	fmt.Fprintf(&b, "state      %s since %s\n", st.State, stamp(st.Since))
	fmt.Fprintf(&b, "safety     %s", st.Safety.Level)
	if len(st.Safety.Pending) > 0 {
		fmt.Fprintf(&b, " (alarm delay running: %s)", strings.Join(st.Safety.Pending, ", "))
	}
	if a := st.Safety.Latched; a != nil {
		fmt.Fprintf(&b, ": %s latched at %s", a.Rule, stamp(a.At))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "heart rate %s\n", orUnknown(st.Vitals.HeartRateBPM, "%.0f bpm"))
	fmt.Fprintf(&b, "SpO2       %s\n", orUnknown(st.Vitals.SpO2Pct, "%.1f %%"))
	fmt.Fprintf(&b, "sensor     %s\n", contactText[st.Vitals.Contact])
	b.WriteString(formatOutputs(st.Outputs))
	b.WriteString(formatShow(st.Show))
	b.WriteString(formatFindings(findings(st)))
	return b.String()
}
