package main

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/journal"
)

// A finding is one thing wrong with the pod, in a technician's words, and
// the next step to take about it.
type finding struct {
	Problem string `json:"problem"`
	Next    string `json:"next"`
}

// statusReport is podctl status --json: the pod's status as the local API
// serves it, with status's findings beside it.
type statusReport struct {
	api.Status
	Findings []finding `json:"findings"`
}

// findings says what is wrong with the pod and what to do next, the most
// urgent first: outputs that did not reach their safe state, a latched
// abort (and whether an ack would be taken now), alarm delays running,
// outputs held, the store, sensors, the uplink and the hub, other parts,
// the clock. None when all is well.
func findings(st api.Status) []finding {
	var fs []finding
	add := func(problem, next string) { fs = append(fs, finding{problem, next}) }
	if len(st.Outputs.Unsafe) > 0 {
		add(fmt.Sprintf("outputs NOT SAFE: %s did not reach its safe state (podd retries every second)", strings.Join(st.Outputs.Unsafe, ", ")),
			"if it lasts, switch the output's power off and check its bus and wiring; journalctl -u podd says which write fails")
	}
	fs = append(fs, latchFindings(st)...)
	if len(st.Safety.Pending) > 0 && st.Safety.Latched == nil {
		add(fmt.Sprintf("alarm delay running: %s (the pod aborts if it lasts)", strings.Join(st.Safety.Pending, ", ")),
			"check the sleeper and the sensors now")
	}
	if st.Outputs.Safe && st.Safety.Latched == nil {
		for _, h := range st.Outputs.Holds {
			switch h {
			case controller.HoldShowStalled:
				add("outputs held in their safe state: the dreamscape played no frame for a second (a hung bus under a light or a motor?)",
					"check the lights' and motors' buses and wiring (journalctl -u podd); the outputs stay held a minute, longer after repeated stalls")
			case controller.HoldLatchUnknown:
				add("outputs held in their safe state: the store has not been read, and an earlier abort may be latched there",
					"wait for the store to open; if it does not, see the store's line below")
			}
		}
	}
	if st.Show != nil && st.Show.WriteError != "" {
		add("frames NOT SHOWN: "+st.Show.WriteError, "check the lights' and motors' buses and wiring (journalctl -u podd)")
	}
	// On an empty pod (the oximeter sees no one, no session) the other
	// sensors' electrodes and probes touch no one either: their
	// no_contact and lead_off are what an empty pod looks like.
	empty := st.Vitals.Contact == "none" && st.Session == nil
	for _, s := range st.Sensors {
		if s.State == "ok" || s.State == "starting" || (empty && (s.State == "no_contact" || s.State == "lead_off")) {
			continue
		}
		p := fmt.Sprintf("sensor %s %s since %s", s.Name, strings.ToUpper(s.State), stamp(s.Since))
		if s.Error != "" {
			p += ": " + s.Error
		}
		add(p, cmp.Or(sensorHint[s.State], "see journalctl -u podd"))
	}
	if d := st.Uplink.Duplicate; d != "" {
		add("NOT PUBLISHING: "+d, "give each pod its own pod.id (a copied configuration?), then restart the pod whose id changed")
	}
	if st.Uplink.CommandsRefused {
		add("deaf to the hub: the broker refused the subscription to commands or merge-wide aborts",
			"allow the pod's cmd topic and sleegation/v1/merges/+/abort in the broker's ACL")
	}
	if !st.Uplink.Connected && st.Uplink.Duplicate == "" {
		p := "uplink not connected to " + cmp.Or(st.Uplink.Broker, "its broker")
		if e := st.Uplink.LastError; e != nil {
			p += fmt.Sprintf(" (last error %s: %s)", stamp(e.At), e.Error)
		}
		add(p, "check the network and the broker named by uplink.broker; records wait in the store's outbox meanwhile")
	}
	if st.Uplink.Hub != "" && st.Uplink.Hub != controller.HubOnline {
		add("the hub is "+st.Uplink.Hub+" (uplink.require_hub): records are held until it is online",
			"check the hub's service; nothing is lost meanwhile")
	}
	for _, ps := range st.Parts {
		if ps.State != controller.PartFailed {
			continue
		}
		add(fmt.Sprintf("part %s FAILED: %s (%d failures; retried)", ps.Name, ps.Error, ps.Failures), partNext(ps.Name))
	}
	if !st.ClockSynced {
		add("clock NOT SYNCHRONISED: the hub's signed commands are refused (clock_unsynced); only merge/abort is obeyed",
			"enable NTP: sudo timedatectl set-ntp true, then timedatectl timesync-status (podctl doctor checks it too)")
	}
	return fs
}

// latchFindings says what a latched abort means now: what happened and
// when, and whether `podctl ack` would be taken now or why not.
func latchFindings(st api.Status) []finding {
	a := st.Safety.Latched
	if a == nil {
		return nil
	}
	what := fmt.Sprintf("safety abort: %s at %s (latched)", a.Rule, stamp(a.At))
	if a.Rule == journal.RuleStoreDamaged {
		what = fmt.Sprintf("store damaged at %s: the pod started latched on a fresh store, as an abort may have been lost with the file (latched)", stamp(a.At))
	}
	var next string
	switch {
	case st.Safety.Latch == controller.LatchUnknown:
		next = "wait for the store to be read (see the store's line below): until then the latch cannot be acknowledged"
	case st.Safety.Latch == controller.LatchUnsaved:
		next = "the store refuses writes, so the ack is refused until the latch is stored (retried every second): check the disk (df -h on storage.path's directory); then check the sleeper and run `podctl ack`"
	case st.Safety.AckBlocked != "":
		next = "check the sleeper; when the vitals are back in range run `podctl ack` (refused now: " + st.Safety.AckBlocked + ")"
	default:
		next = "check the sleeper, then run `podctl ack` (the vitals are in range: it would be taken now)"
	}
	if a.Rule == journal.RuleStoreDamaged {
		next = "the damaged file was kept beside the store (podd.db.damaged-*) for a technician; " + next
	}
	return []finding{{what, next}}
}

// partNext is the next step for a supervised part that failed.
func partNext(name string) string {
	switch name {
	case "store":
		return "check storage.path: its directory must exist (systemd's StateDirectory makes /var/lib/podd), be writable by podd, and have space (df -h); podd retries"
	case "api":
		return "check api.socket's directory (/run/podd, RuntimeDirectory) and that no other podd runs; podd retries"
	case "metrics":
		return "another program holds api.metrics_listen's port: choose another; podd retries"
	case "broker":
		return "another program holds uplink.embedded_listen's port: stop it or choose another; podd retries"
	case "uplink":
		return "see journalctl -u podd; podd retries"
	}
	return "see journalctl -u podd; podd retries with backoff"
}

// formatFindings is status's verdict: "ok" when nothing is wrong, else each
// finding and its next step.
func formatFindings(fs []finding) string {
	if len(fs) == 0 {
		return "verdict    ok: nothing needs doing\n"
	}
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "problem    %s\n", f.Problem)
		fmt.Fprintf(&b, "next       %s\n", f.Next)
	}
	return b.String()
}

// stamp is a time as status prints it: RFC 3339 in UTC, to the second.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// formatUptime is "3h02m (since 2026-11-30T07:38:00Z)".
func formatUptime(st api.Status) string {
	d := time.Duration(st.UptimeS * float64(time.Second)).Truncate(time.Second)
	var s string
	switch {
	case d >= 24*time.Hour:
		s = fmt.Sprintf("%dd%02dh%02dm", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute))
	case d >= time.Hour:
		s = fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		s = d.String()
	}
	return fmt.Sprintf("%s (since %s)", s, stamp(st.Started))
}
