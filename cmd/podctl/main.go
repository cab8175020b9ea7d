// Command podctl is the technician's tool for a pod: it talks to podd's local
// API on its Unix socket (--socket, PODCTL_SOCKET; default
// /run/podd/podd.sock, mode 0660, group podd).
//
//	podctl status            what is wrong and what to do next; state, safety, vitals, outputs, uplink, clock, uptime
//	podctl watch [--interval 1s]  state, vitals and outputs, refreshed in place; Ctrl-C ends it
//	podctl ack [--note TEXT] clear a latched abort (refused while still unsafe)
//	podctl consent grant|withdraw
//	podctl audit verify      check the hash chain of the pod's audit log
//	podctl events [--since DUR|TIME] [--kind K,...] [--follow]  the pod's history of events
//	podctl report --out FILE [--session ID | --from T --to T] [--store PATH]  an HTML report of a night
//	podctl selftest lights|haptics  a gentle sequence on each light zone or motor in turn
//	podctl selftest sensors  each sensor read gently: ID, data, plausible values, red/IR wiring
//	podctl doctor            check the pod: configuration, buses, chips, lines, broker, clock, disk, store
//	podctl scan              the chips that answer at the addresses the pod knows
//	podctl identify          a steady light on the strip to find the pod by
//	podctl config check FILE [--env]  load a configuration as podd would, without podd
//	podctl version           podctl's version, commit and build date (also --version)
//
// --json prints the reply as JSON on every command (watch: an object a
// line), a refusal too.
//
// Status's findings (verdict.go) are derived from the pod's status alone,
// the most urgent first: outputs that did not reach their safe state; a
// latched abort, with whether an ack would be taken now (the watchdog's
// ack_blocked) or why the store keeps it; alarm delays running; outputs
// held for a stalled show or an unread store; sensor faults; another pod
// with this id; the broker's refusals; the uplink down, with its last
// error; the hub offline; failed parts; the clock not synchronised. Each
// has one next step.
//
// Exit status:
//
//	0  done
//	1  an error: podd not running or not reachable, its store not open, a failure
//	2  bad input: an unknown command or flag, wrong arguments, a configuration
//	   with problems (config check)
//	3  the pod refused: an ack while still unsafe or with nothing latched, a
//	   self-test on an occupied pod, an identify during a merge, a scan while
//	   podd runs
//	4  the audit log is broken (audit verify)
//	5  a check failed (doctor, scan, selftest sensors)
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/internal/buildinfo"
)

func main() {
	if err := newRoot(os.Stdout).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "podctl:", err)
		os.Exit(exitCode(err))
	}
}

func newRoot(out io.Writer) *cobra.Command {
	var socket string
	var asJSON bool
	root := &cobra.Command{
		Use:           "podctl",
		Short:         "Service tool for a Sleegation pod",
		Args:          cobra.NoArgs,
		RunE:          groupHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.Get().String(),
	}
	root.SetVersionTemplate("podctl {{.Version}}\n")
	root.SetOut(out)
	root.PersistentFlags().StringVar(&socket, "socket", envOr("PODCTL_SOCKET", "/run/podd/podd.sock"), "podd's API socket")
	root.PersistentFlags().BoolVar(&asJSON, "json", false, "print the raw JSON reply")

	// request runs one call against the pod and prints its reply as JSON or as text.
	var request requester = func(call func(context.Context, *api.Client) (any, error), text func(any) string) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			c := api.NewClient(socket)
			defer c.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
			defer cancel()
			reply, err := call(ctx, c)
			if err != nil {
				err = explainDialError(socket, err)
				if asJSON && errors.Is(err, api.ErrRefused) && reply != nil {
					// The pod's refusal, as it answered it; the exit
					// status still says refused.
					if perr := printJSON(out, reply); perr != nil {
						return perr
					}
				}
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
			func(ctx context.Context, c *api.Client) (any, error) {
				st, err := c.Status(ctx)
				return statusReport{Status: st, Findings: findings(st)}, err
			},
			func(v any) string { return formatStatus(v.(statusReport).Status) }),
	})
	var note string
	ack := &cobra.Command{
		Use:   "ack",
		Short: "Acknowledge and clear a latched abort",
		Long: `Acknowledge and clear a latched abort. The pod refuses while an alarm
condition is still present. It records who asked from the socket (your
uid, pid and user name), never from the request; --note adds your words
beside it (at most 200 characters of plain text; line breaks become
spaces). Through sudo the pod records root (uid 0), what the kernel
proves; podctl then adds $SUDO_USER to the note, marked as claimed.`,
		Args: cobra.NoArgs,
		RunE: request(
			func(ctx context.Context, c *api.Client) (any, error) {
				n, err := sudoNote(note, os.Getenv("SUDO_USER"), geteuid())
				if err != nil {
					return nil, err
				}
				return c.Ack(ctx, n)
			},
			func(v any) string { return formatAck(v.(api.AckReply)) }),
	}
	ack.Flags().StringVar(&note, "note", "", "a note recorded beside the acknowledgement (plain text, at most 200 characters)")
	root.AddCommand(ack)
	consent := &cobra.Command{
		Use:   "consent",
		Short: "Grant or withdraw the sleeper's consent to join merges",
		Args:  cobra.NoArgs,
		RunE:  groupHelp,
	}
	var (
		grantFor     time.Duration
		grantFlagSet bool // --for was given
	)
	grant := &cobra.Command{
		Use:   "grant",
		Short: "Grant consent (for --for, or the pod's default: one night)",
		Args:  cobra.NoArgs,
		RunE: request(
			func(ctx context.Context, c *api.Client) (any, error) {
				if grantFor <= 0 && grantFlagSet {
					// 0 is the API's "not given": refused here, as the pod
					// refuses any other duration outside the bounds.
					return nil, fmt.Errorf("--for %v is outside %v..%v", grantFor, controller.MinConsentDuration, controller.MaxConsentDuration)
				}
				return c.Consent(ctx, "grant", grantFor)
			},
			func(v any) string { return formatConsent(v.(api.ConsentReply).Consent) }),
	}
	grant.Flags().DurationVar(&grantFor, "for", 0, "how long the consent lasts (1m..24h; default: the pod's session.consent_duration)")
	grant.PreRun = func(cmd *cobra.Command, _ []string) { grantFlagSet = cmd.Flags().Changed("for") }
	consent.AddCommand(grant, &cobra.Command{
		Use:   "withdraw",
		Short: "Withdraw consent; a merge under way ends at once",
		Args:  cobra.NoArgs,
		RunE: request(
			func(ctx context.Context, c *api.Client) (any, error) { return c.Consent(ctx, "withdraw", 0) },
			func(v any) string { return formatConsent(v.(api.ConsentReply).Consent) }),
	})
	root.AddCommand(consent)
	root.AddCommand(auditCommand(request))
	root.AddCommand(versionCommand(out, &asJSON))
	root.AddCommand(configCommand(out, &asJSON))
	root.AddCommand(watchCommand(out, &socket, &asJSON))
	root.AddCommand(eventsCommand(&socket, &asJSON, out))
	root.AddCommand(reportCommand(&socket, out))
	var (
		sensorsConfig string
		sensorsFor    time.Duration
	)
	selftest := &cobra.Command{
		Use:   "selftest lights|haptics|sensors",
		Short: "Play a short, gentle sequence on each light zone or each motor in turn, or read each sensor",
		Long: `Play a short, gentle sequence for you to watch: lights lights each zone in
turn (a dim white fading in and out, 3 s a zone); haptics runs each motor in
turn (at half its full drive for 1 s). Every frame passes the pod's
photosensitivity and haptic guards. The pod refuses while someone lies in it,
during a merge, with an abort latched or with its outputs in their safe
state; any safe state ends the test at once. podctl follows the test to its
end and gives a line for each zone or place: PASS when its device took every
frame (whether it shone or ran is for you to say), FAIL with the device's
error; exit status 5 when one failed or the test was cut short.

sensors reads each sensor gently and gives a line each (ID, data flowing,
values plausible; the pulse oximeter's red and IR wiring, judged on a
finger with a regular pulse, with the configuration key to set): through
podd while it runs (its own readings over 3 s), directly with the pod's
drivers for --for otherwise. Exit status 5 when a sensor fails.`,
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{controller.SelfTestLights, controller.SelfTestHaptics, api.SelfTestSensors},
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == api.SelfTestSensors {
				return selfTestSensors(cmd, out, sensorsConfig, sensorsFor)
			}
			return selfTestOutputs(cmd, out, socket, args[0], selfTestPoll)
		},
	}
	selfTestSensorsFlags(selftest, &sensorsConfig, &sensorsFor)
	root.AddCommand(selftest)
	root.AddCommand(doctorCommand(out))
	root.AddCommand(scanCommand(out))
	root.AddCommand(identifyCommand(request))
	return withUsageErrors(root)
}

// formatSelfTest says what plays, in which order and for how long.
func formatSelfTest(r api.SelfTestReply) string {
	t := r.SelfTest
	if t == nil {
		return "selftest   not begun\n"
	}
	return fmt.Sprintf("selftest   %s: %s, each in turn, %s in all; watch them\n", t.What, strings.Join(t.Order, ", "), t.Takes)
}

// errAuditBroken is returned by audit verify when the chain is broken:
// the exit status is then 4.
var errAuditBroken = errors.New("the audit log is broken")

// requester runs one call against the pod and prints its reply (see newRoot).
type requester func(call func(context.Context, *api.Client) (any, error), text func(any) string) func(*cobra.Command, []string) error

func auditCommand(request requester) *cobra.Command {
	audit := &cobra.Command{
		Use:   "audit",
		Short: "The pod's hash-chained audit log",
		Args:  cobra.NoArgs,
		RunE:  groupHelp,
	}
	var broken bool
	verify := request(
		func(ctx context.Context, c *api.Client) (any, error) {
			r, err := c.Audit(ctx)
			broken = err == nil && !r.Intact
			return r, err
		},
		func(v any) string { return formatAudit(v.(api.AuditReply)) })
	audit.AddCommand(&cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain and report its first broken link",
		Long: `Check the hash chain of the pod's audit log (every command, consent change,
panic, abort, acknowledgement and the configuration at each start): each
entry must hold the SHA-256 of the one before. Prints the entries kept and
how many the bound pruned, or the first broken link.

Exit status: 0 intact; 4 broken; 1 the check could not run (podd not
running, its store not open).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := verify(cmd, args); err != nil {
				return err
			}
			if broken {
				return errAuditBroken
			}
			return nil
		},
	})
	return audit
}

// formatAck is ack's reply: the abort cleared and who it was recorded as.
func formatAck(r api.AckReply) string {
	a := r.Cleared
	if a == nil {
		return "cleared\n"
	}
	s := fmt.Sprintf("cleared abort %s (%s)\n", a.Rule, a.Detail)
	if r.By != nil {
		s += fmt.Sprintf("recorded as by %s\n", formatAckSource(*r.By))
	}
	return s
}

// formatAckSource says who acknowledged: "api, user tech (uid 1000, pid
// 4242): note", "button".
func formatAckSource(s controller.AckSource) string {
	b := s.Kind
	if s.UID != nil {
		who := fmt.Sprintf("uid %d", *s.UID)
		if s.PID != nil {
			who += fmt.Sprintf(", pid %d", *s.PID)
		}
		if s.User != "" {
			b += ", user " + s.User + " (" + who + ")"
		} else {
			b += " (" + who + ")"
		}
	}
	if s.Note != "" {
		b += fmt.Sprintf(": %q", s.Note)
	}
	return b
}

// formatAudit is audit verify's line: "audit log intact: entries 1-57 (0
// pruned)", or where the chain breaks first and why.
func formatAudit(r api.AuditReply) string {
	extent := fmt.Sprintf("entries %d-%d (%d pruned)", r.First, r.Last, r.Pruned)
	if r.Entries == 0 {
		extent = fmt.Sprintf("no entries (%d pruned)", r.Pruned)
	}
	if b := r.Broken; b != nil {
		where := fmt.Sprintf("audit log broken at entry %d", b.N)
		if b.Pruned {
			where += " (pruned since)"
		}
		return fmt.Sprintf("%s: %s\n           kept: %s\n", where, b.Detail, extent)
	}
	return fmt.Sprintf("audit log intact: %s\n", extent)
}

func formatConsent(c api.Consent) string {
	if !c.Granted || c.ExpiresAt == nil {
		return "consent    not given\n"
	}
	return fmt.Sprintf("consent    given until %s\n", c.ExpiresAt.UTC().Format(time.RFC3339))
}

func formatStatus(st api.Status) string {
	var b strings.Builder
	sim := ""
	if st.Simulated {
		sim = " (SIMULATED)"
	}
	fmt.Fprintf(&b, "pod        %s%s\n", st.Pod, sim)
	fmt.Fprintf(&b, "state      %s since %s\n", st.State, st.Since.UTC().Format(time.RFC3339))
	b.WriteString(formatFindings(findings(st)))
	if s := st.Session; s != nil {
		fmt.Fprintf(&b, "merge      %s (%s), %s since %s, at most %s merged\n", s.ID, cmp.Or(s.Dreamscape, "no dreamscape"), s.State, s.Since.UTC().Format(time.RFC3339), time.Duration(s.MaxDuration*float64(time.Second)))
		if bl := s.Baseline; bl != nil {
			fmt.Fprintf(&b, "baseline   %.0f bpm, %.1f %% SpO2 (%d readings)\n", bl.HeartRateBPM, bl.SpO2Pct, bl.Readings)
		}
	}
	b.WriteString(formatConsent(st.Consent))
	fmt.Fprintf(&b, "safety     %s", st.Safety.Level)
	if len(st.Safety.Pending) > 0 {
		fmt.Fprintf(&b, " (pending: %s)", strings.Join(st.Safety.Pending, ", "))
	}
	b.WriteString("\n")
	if a := st.Safety.Latched; a != nil {
		fmt.Fprintf(&b, "latched    %s: %s\n", a.Rule, a.Detail)
		fmt.Fprintf(&b, "           at %s, safe state in %.2f ms\n", a.At.UTC().Format(time.RFC3339), a.LatencyMS)
		switch st.Safety.Latch {
		case "unsaved":
			b.WriteString("           NOT STORED YET: the store refuses writes; retried every second\n")
		case "unknown":
			b.WriteString("           the store has not been read yet\n")
		}
	}
	if l := st.Safety.LastAck; l != nil {
		fmt.Fprintf(&b, "last ack   %s (detected %s) cleared %s by %s\n", l.Rule, l.DetectedAt.UTC().Format(time.RFC3339), l.At.UTC().Format(time.RFC3339), formatAckSource(l.AckSource))
	}
	b.WriteString(formatOutputs(st.Outputs))
	b.WriteString(formatShow(st.Show))
	fmt.Fprintf(&b, "heart rate %s\n", orUnknown(st.Vitals.HeartRateBPM, "%.0f bpm"))
	fmt.Fprintf(&b, "SpO2       %s\n", orUnknown(st.Vitals.SpO2Pct, "%.1f %%"))
	fmt.Fprintf(&b, "sensor     %s\n", contactText[st.Vitals.Contact])
	b.WriteString(formatSensors(st.Sensors))
	fmt.Fprintf(&b, "armed      %s\n", strings.Join(st.Safety.Armed, ", "))
	conn := "disconnected"
	if st.Uplink.Connected {
		conn = "connected"
	}
	waiting := fmt.Sprintf("%d waiting", st.Uplink.Outbox)
	if st.Uplink.Outbox < 0 {
		waiting = "outbox unknown"
	}
	if st.Uplink.Unstored > 0 {
		waiting += fmt.Sprintf(", %d events not stored yet (kept in memory)", st.Uplink.Unstored)
	}
	fmt.Fprintf(&b, "uplink     %s %s, %s\n", st.Uplink.Broker, conn, waiting)
	if e := st.Uplink.LastError; e != nil {
		fmt.Fprintf(&b, "           last error %s from %s: %s\n", stamp(e.At), e.Broker, e.Error)
	}
	if st.Uplink.Duplicate != "" {
		fmt.Fprintf(&b, "           NOT PUBLISHING: %s (give each pod its own pod.id)\n", st.Uplink.Duplicate)
	}
	if st.Uplink.CommandsRefused {
		fmt.Fprintf(&b, "           DEAF TO THE HUB: the broker refused the subscription to commands or merge-wide aborts (allow the pod's cmd topic and sleegation/v1/merges/+/abort in the broker's ACL)\n")
	}
	if st.Uplink.Hub != "" {
		receipt := "no receipt yet"
		if st.Uplink.Receipt != nil {
			receipt = fmt.Sprintf("receipted up to seq %d", *st.Uplink.Receipt)
		}
		hold := ""
		if st.Uplink.Hub != "online" {
			hold = " (records held until it is online)"
		}
		fmt.Fprintf(&b, "hub        %s%s, %s\n", st.Uplink.Hub, hold, receipt)
	}
	for _, ps := range st.Parts {
		if ps.State == "up" {
			continue
		}
		fmt.Fprintf(&b, "part       %s %s since %s", ps.Name, strings.ToUpper(ps.State), ps.Since.UTC().Format(time.RFC3339))
		if ps.Error != "" {
			fmt.Fprintf(&b, ": %s (%d failures; retried)", ps.Error, ps.Failures)
		}
		b.WriteString("\n")
	}
	if st.Sim != nil {
		light := "lit"
		switch {
		case st.Sim.StripSafe:
			light = "showing the safe light"
		case st.Sim.StripDark:
			light = "dark"
		}
		fmt.Fprintf(&b, "sim strip  %s after %d frames\n", light, st.Sim.StripFrames)
	}
	if st.ClockSynced {
		b.WriteString("clock      synchronised (the kernel's NTP status)\n")
	} else {
		b.WriteString("clock      NOT SYNCHRONISED: the hub's signed commands are refused (clock_unsynced) until NTP has set the clock; only merge/abort is obeyed\n")
	}
	if !st.Started.IsZero() {
		fmt.Fprintf(&b, "uptime     %s\n", formatUptime(st))
	}
	fmt.Fprintf(&b, "version    %s, boot %s\n", st.Version, st.Boot)
	return b.String()
}

// formatSensors lists the sensors that are well on one line and each
// that is not on its own, with what to check.
func formatSensors(ss []api.SensorStatus) string {
	var b strings.Builder
	var ok []string
	for _, s := range ss {
		if s.State == "ok" {
			ok = append(ok, s.Name)
		}
	}
	if len(ok) > 0 {
		fmt.Fprintf(&b, "sensors    ok: %s\n", strings.Join(ok, ", "))
	}
	for _, s := range ss {
		if s.State == "ok" {
			continue
		}
		fmt.Fprintf(&b, "sensor     %s %s since %s: %s", s.Name, strings.ToUpper(s.State), s.Since.UTC().Format(time.RFC3339), sensorHint[s.State])
		if s.Error != "" {
			fmt.Fprintf(&b, " (%s)", s.Error)
		}
		if n := s.PollErrors + s.OpenErrors; n > 0 {
			fmt.Fprintf(&b, "; %d bus errors, %d reopens so far", n, s.Reopens)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// sensorHint says what a sensor's state means and what to check.
var sensorHint = map[string]string{
	"starting":   "opening the chip",
	"stale":      "the chip answers but produces nothing new (reset by a brown-out?); it is opened again",
	"bus_error":  "the chip does not answer on its bus: check its wiring, its address (sensors.*) and its supply",
	"flatline":   "a flat signal: an input disconnected or shorted",
	"saturated":  "at full scale: an electrode off, a shorted circuit, or light flooding the sensor",
	"lead_off":   "every EEG electrode is off the skin: check the cap and its gel",
	"no_contact": "not on the sleeper: check the sensor's placement",
}

// contactText says what the pulse oximeter sees.
var contactText = map[string]string{
	"skin":    "sees the sleeper",
	"none":    "sees no one (an empty pod, or the sensor off the finger): vitals_stale disarmed outside a merge",
	"unknown": "not answering or starting: every rule armed",
	"":        "unknown",
}

// holdText says, for a technician, why the outputs stay in their safe state.
var holdText = map[string]string{
	"latched":       "an abort is latched (podctl ack once the vitals are back in range)",
	"latch_unknown": "the store has not been read: an earlier abort may be latched there",
	"settling":      "waiting for 10 s of vitals within every limit",
	"stopping":      "podd is stopping",
	"merge_left":    "a merge was just left at once (panic, withdrawal or abort): 10 s before the light comes back",
	"show_stalled":  "the dreamscape played no frame for a second (a hung bus under a light or a motor?): see the log",
}

func formatOutputs(o api.Outputs) string {
	var b strings.Builder
	switch {
	case len(o.Unsafe) > 0:
		fmt.Fprintf(&b, "outputs    NOT SAFE: %s did not reach its safe state; retried every second\n", strings.Join(o.Unsafe, ", "))
	case !o.Safe:
		b.WriteString("outputs    on\n")
	case len(o.Holds) == 0:
		b.WriteString("outputs    safe (safe light, motors off), opening\n")
	default:
		b.WriteString("outputs    safe (safe light, motors off):")
		for i, h := range o.Holds {
			if i > 0 {
				b.WriteString(";")
			}
			b.WriteString(" " + cmp.Or(holdText[h], h))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// formatShow says what plays where: the dreamscape (or the steady ambient
// light) on the zones and places, what a guard limits, or the wake ramp
// while the outputs are safe.
func formatShow(sh *api.ShowStatus) string {
	if sh == nil {
		return ""
	}
	what := cmp.Or(sh.Program, "steady ambient light")
	var b strings.Builder
	if !sh.Playing {
		fmt.Fprintf(&b, "show       %s, held while the outputs are safe", what)
		if sh.Wake != nil {
			fmt.Fprintf(&b, "; wake ramp %.0f %%", *sh.Wake*100)
		}
		b.WriteString("\n")
		return b.String()
	}
	if sh.SelfTest != "" {
		what = "the " + sh.SelfTest + " self-test"
	}
	fmt.Fprintf(&b, "show       %s on %s", what, strings.Join(sh.Zones, ", "))
	if len(sh.Places) > 0 {
		fmt.Fprintf(&b, "; haptics %s", strings.Join(sh.Places, ", "))
	}
	if len(sh.Limited) > 0 {
		fmt.Fprintf(&b, "; GUARD limiting %s", strings.Join(sh.Limited, ", "))
	}
	if sh.WriteError != "" {
		fmt.Fprintf(&b, "; frames NOT SHOWN: %s", sh.WriteError)
	}
	b.WriteString("\n")
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

// groupHelp is the RunE of a command that only groups others: alone it
// prints its help; with an argument (a mistyped subcommand) cobra.NoArgs
// has already refused it as an unknown command, exit status 1.
func groupHelp(cmd *cobra.Command, _ []string) error { return cmd.Help() }
