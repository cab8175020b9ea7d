package controller

import (
	"errors"
	"time"

	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/uplink"
)

// ErrRefused marks an Ack error that is the pod's decision (nothing latched,
// the latch not stored yet, an alarm condition still present), not a
// failure: the local API answers it 409.
var ErrRefused = errors.New("refused")

// Status is a snapshot of the pod, as the local API serves it.
type Status struct {
	Pod       string    `json:"pod"`
	Boot      string    `json:"boot"`
	Version   string    `json:"version"`
	State     string    `json:"state"`
	Since     time.Time `json:"since"`
	Simulated bool      `json:"simulated"`
	// Started is when this run of podd began (wall clock); UptimeS is how
	// long ago, in seconds (0.1 s resolution, from the monotonic clock).
	Started time.Time `json:"started"`
	UptimeS float64   `json:"uptime_s"`
	// ClockSynced: the wall clock is synchronised (NTP). Until it is, every
	// hub command that needs a time check is refused clock_unsynced; only
	// merge/abort is acted on.
	ClockSynced bool `json:"clock_synced"`
	// Session is the merge under way; absent outside one.
	Session *SessionStatus `json:"session,omitempty"`
	// History counts the night history's entries stored, pruned and
	// dropped (a slow or full store) since the store opened; absent on a
	// pod that keeps none.
	History *journal.HistoryStats `json:"history,omitempty"`
	Consent Consent               `json:"consent"`
	Safety  SafetyStatus          `json:"safety"`
	Outputs Outputs               `json:"outputs"`
	Vitals  Vitals                `json:"vitals"`
	Uplink  UplinkStatus          `json:"uplink"`
	// Sensors is each biometric sensor's health: the pulse oximeter first,
	// then the others in the order of the inventory.
	Sensors []SensorStatus `json:"sensors"`
	// Counts are the aborts and the dropped records since the start.
	Counts Counts `json:"counts"`
	// Loops are the safety core's loops: how recently each turned.
	Loops []LoopStatus `json:"loops"`
	// Parts are the supervised parts (store, uplink, local API, metrics,
	// simulator), in start order.
	Parts []PartStatus `json:"parts"`
	// Show is what the show loop plays; absent without one.
	Show *ShowStatus `json:"show,omitempty"`
	// Sim is what the simulated hardware shows; absent on real hardware.
	Sim *SimStatus `json:"sim,omitempty"`
}

// SensorStatus is one sensor's health (sensing.Health).
type SensorStatus struct {
	Name string `json:"name"`
	// State is ok, starting, stale, bus_error, flatline, saturated,
	// lead_off or no_contact.
	State string    `json:"state"`
	Since time.Time `json:"since"`
	// Error is the last failure while State is bus_error.
	Error string `json:"error,omitempty"`
	// PollErrors, OpenErrors and Reopens count since the pod started.
	PollErrors uint64 `json:"poll_errors"`
	OpenErrors uint64 `json:"open_errors"`
	Reopens    uint64 `json:"reopens"`
}

func sensorStatus(h sensing.Health) SensorStatus {
	return SensorStatus{
		Name: h.Sensor, State: string(h.State), Since: h.Since, Error: h.Err,
		PollErrors: h.PollErrors, OpenErrors: h.OpenErrors, Reopens: h.Reopens,
	}
}

// SimStatus reports the simulated outputs, read from their device models.
type SimStatus struct {
	StripFrames int  `json:"strip_frames"` // frames the simulated strip latched
	StripDark   bool `json:"strip_dark"`   // its last frame emits no light
	// StripSafe: every LED shows the configured safe light (as it is
	// before a wake ramp raises it).
	StripSafe bool `json:"strip_safe"`
}

// Latch states, as SafetyStatus.Latch reports them.
const (
	LatchNone    = "none"    // nothing latched, and the store agrees
	LatchStored  = "stored"  // latched, and the store holds it
	LatchUnsaved = "unsaved" // latched in memory; the store has not confirmed it yet (retried)
	LatchUnknown = "unknown" // the store has not been read yet: a stored latch may exist
)

// SafetyStatus is the watchdog's part of Status.
type SafetyStatus struct {
	Level   string   `json:"level"`
	Pending []string `json:"pending,omitempty"`
	// Armed are the rules that can trip now: vitals_stale is disarmed
	// outside a merge while the sensor sees no one.
	Armed   []string      `json:"armed"`
	Latched *safety.Abort `json:"latched,omitempty"`
	// Latch says whether the store holds the latch: none, stored, unsaved
	// or unknown.
	Latch string `json:"latch"`
	// SafeForS is how long every alarm condition has been absent, in
	// seconds: the evidence the outputs wait for after a start.
	SafeForS float64 `json:"safe_for_s"`
	// LastAck is the latest acknowledgement: the abort it cleared, who and
	// when; after a start, the latest the audit log records (within its
	// last 2048 entries); absent when there is none.
	LastAck *LastAck `json:"last_ack,omitempty"`
	// AckBlocked says, while an abort is latched, why an acknowledgement
	// would be refused now (the alarm conditions still present, with
	// their values: "heart_rate_bpm 150.0 is not below 125"); empty when
	// it would be accepted or nothing is latched. It is the watchdog's
	// judgement only: the store must also hold the latch (Latch stored).
	AckBlocked string `json:"ack_blocked,omitempty"`
}

// Reasons the outputs are held in their safe state, as Outputs.Holds lists them.
const (
	HoldLatched      = "latched"       // an abort is latched
	HoldLatchUnknown = "latch_unknown" // the store has not been read: a stored abort may exist
	HoldSettling     = "settling"      // not yet SettleTime of valid vitals within every limit
	HoldStopping     = "stopping"      // the daemon is stopping
	HoldMergeLeft    = "merge_left"    // a merge was left at once (panic, withdrawal, merge/abort): SettleTime before the light comes back
	HoldShowStalled  = "show_stalled"  // the show played no frame for ShowStallAfter: the outputs are not under its control
)

// Outputs tells whether the actuators are in their safe state, and why.
type Outputs struct {
	// Safe is true when the gate is closed and every output's Halt has
	// succeeded.
	Safe  bool     `json:"safe"`
	Holds []string `json:"holds,omitempty"`
	// Unsafe names the outputs whose Halt is still running or failed while
	// the gate is closed; the safe state is applied to them again every
	// second.
	Unsafe []string `json:"unsafe,omitempty"`
}

// Vitals are the latest vitals; nil means unknown.
type Vitals struct {
	HeartRateBPM *float64 `json:"heart_rate_bpm"`
	SpO2Pct      *float64 `json:"spo2_pct"`
	// Contact is what the pulse oximeter sees: "skin", "none" (an empty
	// pod, or a finger off the sensor) or "unknown".
	Contact string `json:"contact"`
}

// UplinkStatus tells whether the hub is reachable and how much waits to be sent.
type UplinkStatus struct {
	Broker    string `json:"broker"`
	Connected bool   `json:"connected"`
	// Outbox is the number of records stored and not yet acknowledged; -1
	// when the store cannot say.
	Outbox int `json:"outbox"`
	// Unstored is the number of events kept in memory because the store
	// refused them; they are stored, in order, once it accepts writes.
	Unstored int `json:"unstored"`
	// Duplicate says why nothing is published: another pod with this id is
	// online (a copied configuration). Empty when not.
	Duplicate string `json:"duplicate,omitempty"`
	// CommandsRefused: the broker refused the pod's subscription to its
	// commands or to the merge-wide aborts, so the pod cannot hear the
	// hub's aborts (the broker's ACL must allow them).
	CommandsRefused bool `json:"commands_refused,omitempty"`
	// Hub is the hub's presence as its retained status says, read only
	// with uplink.require_hub: "online", "offline" or "unknown" (no
	// status yet on this connection). Absent without require_hub.
	Hub string `json:"hub,omitempty"`
	// Receipt is the hub's receipt with require_hub: it holds every
	// record up to this seq. Absent when none has been received.
	Receipt *uint64 `json:"receipt,omitempty"`
	// LastError is the uplink's last failure since the start (a
	// connection attempt refused, a certificate not trusted, a connection
	// lost), kept after a later connection; absent when there has been
	// none.
	LastError *uplink.LinkError `json:"last_error,omitempty"`
}

// linkErrorView is what an uplink that keeps its last failure tells of it
// (uplink.Uplink does).
type linkErrorView interface {
	LastError() (uplink.LinkError, bool)
}

// lastLinkError fills s.LastError from u, if u can tell.
func lastLinkError(s *UplinkStatus, u Uplink) {
	if v, ok := u.(linkErrorView); ok {
		if e, ok := v.LastError(); ok {
			s.LastError = &e
		}
	}
}

// Hub presences, as UplinkStatus.Hub reports them.
const (
	HubOnline  = "online"
	HubOffline = "offline"
	HubUnknown = "unknown"
)

// hubView is what an uplink that reads the hub's presence and receipts
// tells of them (uplink.Uplink does).
type hubView interface {
	CommandsRefused() bool
	RequiresHub() bool
	HubOnline() (online, known bool)
	HubReceipt() (upto uint64, ok bool)
}

// cityLink reports whether the pod is linked to the city: connected to its
// broker and, with require_hub, the hub online behind it (a broker with no
// hub behind it is no city link: nobody reads the pod's records, which it
// holds, nor can end its merge). Without require_hub the broker alone
// counts.
func cityLink(u Uplink) bool {
	if !u.Connected() {
		return false
	}
	h, ok := u.(hubView)
	if !ok || !h.RequiresHub() {
		return true
	}
	online, known := h.HubOnline()
	return known && online
}

// hubStatus fills the hub's part of s from u, if u can tell.
func hubStatus(s *UplinkStatus, u Uplink) {
	h, ok := u.(hubView)
	if !ok {
		return
	}
	s.CommandsRefused = h.CommandsRefused()
	if !h.RequiresHub() {
		return
	}
	switch online, known := h.HubOnline(); {
	case !known:
		s.Hub = HubUnknown
	case online:
		s.Hub = HubOnline
	default:
		s.Hub = HubOffline
	}
	if r, ok := h.HubReceipt(); ok {
		s.Receipt = &r
	}
}

// Part states, as PartStatus.State reports them.
const (
	PartStarting = "starting" // started, not yet up
	PartUp       = "up"
	PartFailed   = "failed" // failed; retried with backoff
)

// PartStatus is one supervised part.
type PartStatus struct {
	Name  string    `json:"name"`
	State string    `json:"state"`
	Since time.Time `json:"since"`
	// Error is the last failure, kept while the part is not up.
	Error string `json:"error,omitempty"`
	// Failures counts the failures since the daemon started.
	Failures int `json:"failures"`
}
