package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/journal"
)

// privacyNote is said in the page and in --help.
const privacyNote = "This report holds a sleeper's vitals. It is written on the pod only and " +
	"leaves it only if a technician copies it: podctl sends it nowhere, and podd never sends the " +
	"history it is made from."

// The spans a report covers around a session: from a little before its
// first point (the pod's state before it joined) to well after its last
// (the abort or the end, the wake, the acknowledgement).
const (
	sessionLead  = 5 * time.Minute
	sessionTrail = 30 * time.Minute
	// defaultReportSpan is the span of a report with neither --session
	// nor --from.
	defaultReportSpan = 12 * time.Hour
	storeLockWait     = 2 * time.Second
)

// reportCommand is podctl report: an HTML page of a night from the pod's
// history, read from podd's API or, when podd is not running, from its
// store file.
func reportCommand(socket *string, out io.Writer) *cobra.Command {
	var session, from, to, outPath, store string
	cmd := &cobra.Command{
		Use:   "report --out FILE [--session ID | --from TIME --to TIME] [--store PATH]",
		Short: "Write an HTML report of a night: vitals with their limits, states, outputs, alarms and events",
		Long: `Write one self-contained HTML page (plots as inline SVG, no external
resource) of the pod's history over a span: a plot per vital (heart rate,
SpO2, body temperature, skin conductance, EEG band powers, stability: the
mean of each 10 s point with its least and greatest, the safety limits in
force drawn as dashed lines), the pod's states, its outputs (the share of
time in the safe state, the wake ramp), every warning and abort marked on
each timeline at its time, and a table of the events with the next step
after an abort.

The span: --session ID covers a merge session, from 5 minutes before its
first point to 30 minutes after its last (without an ID it lists the
sessions the history holds); --from and --to (RFC 3339) any span, --to
defaulting to now and --from to 12 hours before --to. The history keeps
history.retention (14 days by default).

` + privacyNote + `

The report is read from podd over its socket. When podd is not running,
--store PATH reads its store file directly (read-only; podd holds the
file's lock while it runs, and then --store fails: use the socket).

Exit status: 0 written; 1 an error (podd not running and no --store, the
store held by podd, a session the history does not hold, a bad time).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			var src historySource
			if store != "" {
				r, err := journal.OpenHistoryReader(store, storeLockWait)
				if errors.Is(err, journal.ErrInUse) {
					return fmt.Errorf("%s is held by a running podd (it locks its store while it runs): run podctl report without --store, over podd's socket: %w", store, err)
				}
				if err != nil {
					return err
				}
				defer r.Close()
				src = storeSource{r}
			} else {
				c := api.NewClient(*socket)
				defer c.Close()
				src = apiSource{c: c, socket: *socket}
			}
			if session == "" && from == "" && to == "" && outPath == "" {
				return listSessions(ctx, src, out)
			}
			if outPath == "" {
				return errors.New("--out FILE is required: where to write the page")
			}
			span, err := reportSpan(ctx, src, session, from, to, time.Now())
			if err != nil {
				return err
			}
			rep, err := gatherReport(ctx, src, span)
			if err != nil {
				return err
			}
			if session == "" && from == "" {
				rep.span = clipToData(rep)
				span = rep.span
			}
			page, err := renderReport(rep, time.Now())
			if err != nil {
				return err
			}
			if err := writeFileAtomic(outPath, page); err != nil {
				return err
			}
			fmt.Fprintf(out, "report of %s to %s written to %s (%d points, %d events)\n",
				span.From.Format(time.RFC3339), span.To.Format(time.RFC3339), outPath, len(rep.Points), len(rep.Events))
			return nil
		},
	}
	cmd.Flags().StringVar(&session, "session", "", "the merge session to report")
	cmd.Flags().StringVar(&from, "from", "", "the span's start, RFC 3339 (default: 12 h before --to)")
	cmd.Flags().StringVar(&to, "to", "", "the span's end, RFC 3339 (default: now)")
	cmd.Flags().StringVar(&outPath, "out", "", "the HTML file to write")
	cmd.Flags().StringVar(&store, "store", "", "read podd's store file (storage.path) directly; only while podd is not running")
	return cmd
}

// historySource is where a report's history comes from.
type historySource interface {
	points(ctx context.Context, q url.Values) (api.HistoryReply, error)
	events(ctx context.Context, q url.Values) (api.EventsReply, error)
	sessions(ctx context.Context) ([]api.HistorySession, error)
}

type apiSource struct {
	c      *api.Client
	socket string
}

func (s apiSource) points(ctx context.Context, q url.Values) (api.HistoryReply, error) {
	r, err := s.c.History(ctx, q)
	return r, apiError(err, s.socket)
}

func (s apiSource) events(ctx context.Context, q url.Values) (api.EventsReply, error) {
	r, err := s.c.Events(ctx, q)
	return r, apiError(err, s.socket)
}

func (s apiSource) sessions(ctx context.Context) ([]api.HistorySession, error) {
	r, err := s.c.Sessions(ctx)
	return r.Sessions, apiError(err, s.socket)
}

// storeSource reads the file with the API's own query parsing, so both
// sources answer alike.
type storeSource struct{ r *journal.HistoryReader }

func (s storeSource) points(_ context.Context, v url.Values) (api.HistoryReply, error) {
	q, err := api.ParseHistoryQuery(v)
	if err != nil {
		return api.HistoryReply{}, err
	}
	p, err := s.r.History(journal.HistoryVitals, q)
	if err != nil {
		return api.HistoryReply{}, err
	}
	out := api.HistoryReply{Cursor: p.Cursor, More: p.More, First: p.First, Corrupt: p.Corrupt}
	for _, e := range p.Entries {
		pt := api.HistoryPoint{Seq: e.Seq}
		if err := json.Unmarshal(e.Data, &pt.HistoryPoint); err != nil {
			out.Corrupt++
			continue
		}
		out.Points = append(out.Points, pt)
	}
	return out, nil
}

func (s storeSource) events(_ context.Context, v url.Values) (api.EventsReply, error) {
	q, err := api.ParseEventsQuery(v, time.Now())
	if err != nil {
		return api.EventsReply{}, err
	}
	p, err := s.r.History(journal.HistoryEvents, q)
	if err != nil {
		return api.EventsReply{}, err
	}
	out := api.EventsReply{Cursor: p.Cursor, More: p.More, First: p.First, Corrupt: p.Corrupt}
	for _, e := range p.Entries {
		if !json.Valid(e.Data) {
			out.Corrupt++
			continue
		}
		out.Events = append(out.Events, api.HistoryEvent{Seq: e.Seq, At: e.At, Type: e.Type, Session: e.Session, Body: e.Data})
	}
	return out, nil
}

func (s storeSource) sessions(context.Context) ([]api.HistorySession, error) {
	return s.r.HistorySessions(journal.HistoryVitals)
}

// span is what a report covers.
type span struct {
	From, To time.Time
	Session  string
}

func reportSpan(ctx context.Context, src historySource, session, from, to string, now time.Time) (span, error) {
	if session != "" {
		if from != "" || to != "" {
			return span{}, errors.New("--session and --from/--to: give one or the other")
		}
		ss, err := src.sessions(ctx)
		if err != nil {
			return span{}, err
		}
		for _, s := range ss {
			if s.Session == session {
				return span{From: s.First.Add(-sessionLead), To: s.Last.Add(sessionTrail), Session: session}, nil
			}
		}
		return span{}, fmt.Errorf("the history holds no point of session %q (podctl report without flags lists those it holds)", session)
	}
	sp := span{To: now}
	var err error
	if to != "" {
		if sp.To, err = time.Parse(time.RFC3339Nano, to); err != nil {
			return span{}, fmt.Errorf("--to %q is not an RFC 3339 time (e.g. 2026-12-01T07:00:00Z)", to)
		}
	}
	sp.From = sp.To.Add(-defaultReportSpan)
	if from != "" {
		if sp.From, err = time.Parse(time.RFC3339Nano, from); err != nil {
			return span{}, fmt.Errorf("--from %q is not an RFC 3339 time (e.g. 2026-11-30T22:00:00Z)", from)
		}
	}
	if !sp.From.Before(sp.To) {
		return span{}, fmt.Errorf("--from %s is not before --to %s", sp.From.Format(time.RFC3339), sp.To.Format(time.RFC3339))
	}
	return sp, nil
}

// clipToData starts a report given no --from at its first point or
// event, a minute before it, when that is later than the default span's
// start: a pod that ran an hour gets an hour's plots, not an hour
// squeezed into the right edge of twelve.
func clipToData(rep report) span {
	if len(rep.Points) == 0 && len(rep.Events) == 0 {
		return rep.span
	}
	first := rep.To
	if len(rep.Points) > 0 {
		first = rep.Points[0].From
	}
	for _, e := range rep.Events {
		if e.At.Before(first) {
			first = e.At
		}
	}
	sp := rep.span
	if f := first.Add(-time.Minute).Truncate(time.Minute); f.After(sp.From) && f.Before(sp.To) {
		sp.From = f
	}
	return sp
}

// report is what a page shows.
type report struct {
	span
	Points []controller.HistoryPoint
	Events []api.HistoryEvent
	Limits reportLimits
	// Skipped counts the entries that failed their checksum.
	Skipped int
}

// maxReportPages bounds the requests of one report (each reply holds up
// to journal.MaxHistoryReply entries): 90 days of points, with room.
const maxReportPages = 200

func gatherReport(ctx context.Context, src historySource, sp span) (report, error) {
	rep := report{span: sp}
	q := url.Values{"from": {sp.From.Format(time.RFC3339Nano)}, "to": {sp.To.Format(time.RFC3339Nano)}}
	for range maxReportPages {
		r, err := src.points(ctx, q)
		if err != nil {
			return rep, err
		}
		rep.Skipped += r.Corrupt
		for _, p := range r.Points {
			rep.Points = append(rep.Points, p.HistoryPoint)
		}
		if !r.More {
			break
		}
		q.Set("after", strconv.FormatUint(r.Cursor, 10))
	}
	q = url.Values{"since": {sp.From.Format(time.RFC3339Nano)}, "limit": {strconv.Itoa(journal.MaxHistoryReply)}}
	for range maxReportPages {
		r, err := src.events(ctx, q)
		if err != nil {
			return rep, err
		}
		rep.Skipped += r.Corrupt
		for _, e := range r.Events {
			if e.At.Before(sp.To) {
				rep.Events = append(rep.Events, e)
			}
		}
		if !r.More {
			break
		}
		q.Del("since")
		q.Set("after", strconv.FormatUint(r.Cursor, 10))
	}
	limits, err := findLimits(ctx, src, rep.Events, sp.To)
	if err != nil {
		return rep, err
	}
	rep.Limits = limits
	return rep, nil
}

// listSessions prints the sessions a report can cover.
func listSessions(ctx context.Context, src historySource, out io.Writer) error {
	ss, err := src.sessions(ctx)
	if err != nil {
		return err
	}
	if len(ss) == 0 {
		fmt.Fprintln(out, "the history holds no merge session; podctl report --out FILE reports the last 12 hours")
		return nil
	}
	fmt.Fprintln(out, "sessions in the history (podctl report --session ID --out FILE):")
	for _, s := range ss {
		fmt.Fprintf(out, "  %-24s %s .. %s (%d points)\n", s.Session, s.First.UTC().Format("2006-01-02 15:04"), s.Last.UTC().Format("2006-01-02 15:04"), s.Entries)
	}
	return nil
}

// writeFileAtomic writes b to path through a temporary file beside it,
// readable by its owner only (the page holds a sleeper's vitals).
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
