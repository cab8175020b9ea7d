package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/api"
)

// eventsCommand is podctl events: the pod's own history of events, read
// from podd's API (GET /v1/events).
func eventsCommand(socket *string, asJSON *bool, out io.Writer) *cobra.Command {
	var (
		since    string
		kinds    []string
		follow   bool
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "The pod's history of aborts, warnings, faults, commands and state changes",
		Long: `Print the events the pod kept in its own history (never sent anywhere by
this command), oldest first, one a line: the time (UTC), the type, what
happened and, for an abort, the next step. --json prints each event as one
JSON object a line: {seq, at, type, session, body}.

--since takes a duration back from now (30m, 12h) or an RFC 3339 time
(default 24h). --kind keeps only the types named (abort,warning,fault,
state,consent,command,reply,ack,panic,guard,dropped,config). --follow keeps
printing new events as the pod stores them (they reach the history within
its group commit, about 10 s) until Ctrl-C; it goes on from the last event
printed, by its sequence number, so none is printed twice and none is
skipped, across a restart of podd too.

Exit status: 0 done (or Ctrl-C while following); 1 an error (podd not
running, a bad --since or --kind).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"since": {since}}
			if len(kinds) > 0 {
				q.Set("kind", strings.Join(kinds, ","))
			}
			c := api.NewClient(*socket)
			defer c.Close()
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if follow {
				var stop context.CancelFunc
				ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
				defer stop()
			}
			f := &eventFollower{c: c, out: out, json: *asJSON, query: q, socket: *socket}
			if err := f.page(ctx); err != nil {
				return err
			}
			if !follow {
				return nil
			}
			return f.follow(ctx, interval)
		},
	}
	cmd.Flags().StringVar(&since, "since", "24h", "a duration back from now (30m, 12h) or an RFC 3339 time")
	cmd.Flags().StringSliceVar(&kinds, "kind", nil, "only these event types, comma-separated (abort,fault,...)")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events until Ctrl-C")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "how often --follow asks the pod for new events")
	return cmd
}

// eventFollower prints pages of events and remembers the cursor.
type eventFollower struct {
	c      *api.Client
	out    io.Writer
	json   bool
	query  url.Values
	socket string
	cursor uint64
	primed bool // the first page was read: later ones go by cursor
	failed bool // the last poll failed (reported once)
}

// page prints every event after the cursor, page by page, and moves it.
func (f *eventFollower) page(ctx context.Context) error {
	for {
		q := url.Values{}
		maps.Copy(q, f.query)
		if f.primed {
			q.Del("since")
			q.Set("after", fmt.Sprint(f.cursor))
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		r, err := f.c.Events(ctx, q)
		cancel()
		if err != nil {
			return apiError(err, f.socket)
		}
		if f.primed && r.First > f.cursor+1 {
			fmt.Fprintf(f.out, "(%d events were pruned by the history's bounds before they could be printed)\n", r.First-f.cursor-1)
		}
		for _, e := range r.Events {
			if err := f.print(e); err != nil {
				return err
			}
		}
		if r.Corrupt > 0 {
			fmt.Fprintf(f.out, "(%d stored events failed their checksum and were skipped)\n", r.Corrupt)
		}
		f.cursor, f.primed = r.Cursor, true
		if !r.More {
			return nil
		}
	}
}

// follow polls every interval until ctx ends; a poll that fails is
// reported once and retried.
func (f *eventFollower) follow(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return errors.New("--interval must be positive")
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		err := f.page(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && !f.failed:
			fmt.Fprintf(os.Stderr, "podctl: %v; trying again every %v\n", err, interval)
		case err == nil && f.failed:
			fmt.Fprintln(os.Stderr, "podctl: podd answers again")
		}
		f.failed = err != nil
	}
}

func (f *eventFollower) print(e api.HistoryEvent) error {
	if f.json {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(f.out, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintln(f.out, formatEvent(e))
	return err
}

// apiError words a failed request as the other commands do.
func apiError(err error, socket string) error {
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("podd is not running, or not on %s (--socket or PODCTL_SOCKET): %w", socket, err)
	}
	return err
}

// formatEvent is one human line: time, type, what happened, and the next
// step where there is one.
func formatEvent(e api.HistoryEvent) string {
	var b map[string]any
	_ = json.Unmarshal(e.Body, &b)
	what, next := describeEvent(e.Type, b)
	line := fmt.Sprintf("%s  %-8s %s", e.At.UTC().Format("2006-01-02 15:04:05"), e.Type, what)
	if e.Session != "" {
		line += " [session " + e.Session + "]"
	}
	if next != "" {
		line += "\n" + strings.Repeat(" ", 30) + "next: " + next
	}
	return line
}

// describeEvent says what an event of type typ with body b reports, and
// what to do next.
func describeEvent(typ string, b map[string]any) (what, next string) {
	s := func(k string) string {
		if v, ok := b[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	switch typ {
	case "abort":
		what = fmt.Sprintf("%s: %s", s("rule"), s("detail"))
		if p := s("priority"); p != "" {
			what += " (" + p + " priority)"
		}
		next = "the pod is latched in its safe state: check on the sleeper; once the vitals are back within their limits, `podctl ack --note TEXT` clears it (refused while still unsafe)"
	case "warning":
		what = fmt.Sprintf("%s: %s, limit %s; the pod aborts if it lasts %ss", s("rule"), compact(b["values"]), s("limit"), s("delay_s"))
	case "state":
		what = fmt.Sprintf("%s -> %s", s("from"), s("to"))
		if r := s("reason"); r != "" {
			what += " (" + r + ")"
		}
	case "fault":
		subject := s("device")
		if subject == "" {
			subject = s("part")
		}
		state := "cleared"
		if b["active"] == true {
			state = "active"
		}
		what = strings.TrimSpace(fmt.Sprintf("%s %s %s", subject, s("fault"), state))
		if e := s("error"); e != "" {
			what += ": " + e
		}
		if b["active"] == true {
			next = "`podctl status` shows what is still wrong"
		}
	case "command":
		what = s("cmd")
		if b["ok"] == true {
			what += " done"
		} else {
			what += " refused: " + s("error")
		}
	case "reply":
		what = "reply to " + s("jti")
		if b["ok"] != true {
			what += ": " + s("error")
		}
	case "ack":
		what = fmt.Sprintf("abort %s acknowledged by %s", s("rule"), s("source"))
		if u := s("user"); u != "" {
			what += " (user " + u + ")"
		}
		if n := s("note"); n != "" {
			what += ": " + n
		}
	case "consent":
		what = strings.TrimSpace(s("action") + " by " + s("source"))
	case "config":
		n := 0
		if m, ok := b["settings"].(map[string]any); ok {
			n = len(m)
		}
		what = fmt.Sprintf("podd %s started with its configuration (%d keys; --json shows them)", s("version"), n)
	case "dropped":
		what = fmt.Sprintf("%s records lost (%s)", s("count"), s("reason"))
	}
	if what == "" {
		rest := maps.Clone(b)
		delete(rest, "type")
		what = compact(rest)
	}
	return what, next
}

// compact is v as short JSON, its keys sorted, at most 160 bytes.
func compact(v any) string {
	if m, ok := v.(map[string]any); ok {
		parts := make([]string, 0, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			parts = append(parts, k+"="+compact(m[k]))
		}
		v := strings.Join(parts, " ")
		if len(v) > 160 {
			v = v[:157] + "..."
		}
		return v
	}
	b, _ := json.Marshal(v)
	if len(b) > 160 {
		return string(b[:157]) + "..."
	}
	return string(b)
}
