package main

import (
	"github.com/sleegation/podd/controller"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/safety"
)

func TestFormatStatus(t *testing.T) {
	hr := 151.2
	at := time.Date(2026, 11, 26, 3, 12, 0, 0, time.UTC)
	quarter := 0.25
	st := api.Status{
		Pod: "sim-pod-1", Boot: "b1", Version: "v0.1.0", State: "aborted", Since: at, Simulated: true, ClockSynced: true,
		Safety: api.SafetyStatus{Level: "abort", Latch: "unsaved", Armed: []string{"heart_rate_high", "heart_rate_low", "spo2_low", "vitals_stale"}, Latched: &safety.Abort{Rule: "heart_rate_high", Detail: "heart_rate_bpm 151.2 above 130 for 10.1 s (delay 10.0 s)", At: at, LatencyMS: 0.42},
			LastAck: &controller.LastAck{Rule: "spo2_low", DetectedAt: at.Add(-time.Hour), At: at.Add(-50 * time.Minute), AckSource: controller.AckSource{Kind: "api", UID: new(uint32(1000)), PID: new(int32(4242)), User: "tech", Note: "refixed the sensor"}}},
		Outputs: api.Outputs{Safe: true, Holds: []string{"latched", "settling"}},
		Vitals:  api.Vitals{HeartRateBPM: &hr, Contact: "skin"},
		Sensors: []api.SensorStatus{
			{Name: "max30102", State: "ok", Since: at},
			{Name: "ads1299", State: "lead_off", Since: at},
			{Name: "ads1115", State: "ok", Since: at},
			{Name: "tmp117", State: "bus_error", Since: at, Error: "tmp117 at 0x48: i2c: NACK", PollErrors: 3, OpenErrors: 2, Reopens: 1},
		},
		Uplink: api.UplinkStatus{Broker: "tcp://127.0.0.1:1883", Connected: false, Outbox: 12, Unstored: 2},
		Parts: []api.PartStatus{
			{Name: "uplink", State: "up", Since: at},
			{Name: "store", State: "failed", Since: at, Error: "journal.Append: write /var/lib/podd/podd.db: no space left on device", Failures: 3},
		},
		Sim:  &api.SimStatus{StripFrames: 3, StripDark: true},
		Show: &api.ShowStatus{Program: "calm-night", Zones: []string{"canopy"}, Wake: &quarter},
	}
	want := `pod        sim-pod-1 (SIMULATED)
state      aborted since 2026-11-26T03:12:00Z
problem    safety abort: heart_rate_high at 2026-11-26T03:12:00Z (latched)
next       the store refuses writes, so the ack is refused until the latch is stored (retried every second): check the disk (df -h on storage.path's directory); then check the sleeper and run ` + "`podctl ack`" + `
problem    sensor ads1299 LEAD_OFF since 2026-11-26T03:12:00Z
next       every EEG electrode is off the skin: check the cap and its gel
problem    sensor tmp117 BUS_ERROR since 2026-11-26T03:12:00Z: tmp117 at 0x48: i2c: NACK
next       the chip does not answer on its bus: check its wiring, its address (sensors.*) and its supply
problem    uplink not connected to tcp://127.0.0.1:1883
next       check the network and the broker named by uplink.broker; records wait in the store's outbox meanwhile
problem    part store FAILED: journal.Append: write /var/lib/podd/podd.db: no space left on device (3 failures; retried)
next       check storage.path: its directory must exist (systemd's StateDirectory makes /var/lib/podd), be writable by podd, and have space (df -h); podd retries
consent    not given
safety     abort
latched    heart_rate_high: heart_rate_bpm 151.2 above 130 for 10.1 s (delay 10.0 s)
           at 2026-11-26T03:12:00Z, safe state in 0.42 ms
           NOT STORED YET: the store refuses writes; retried every second
last ack   spo2_low (detected 2026-11-26T02:12:00Z) cleared 2026-11-26T02:22:00Z by api, user tech (uid 1000, pid 4242): "refixed the sensor"
outputs    safe (safe light, motors off): an abort is latched (podctl ack once the vitals are back in range); waiting for 10 s of vitals within every limit
show       calm-night, held while the outputs are safe; wake ramp 25 %
heart rate 151 bpm
SpO2       unknown
sensor     sees the sleeper
sensors    ok: max30102, ads1115
sensor     ads1299 LEAD_OFF since 2026-11-26T03:12:00Z: every EEG electrode is off the skin: check the cap and its gel
sensor     tmp117 BUS_ERROR since 2026-11-26T03:12:00Z: the chip does not answer on its bus: check its wiring, its address (sensors.*) and its supply (tmp117 at 0x48: i2c: NACK); 5 bus errors, 1 reopens so far
armed      heart_rate_high, heart_rate_low, spo2_low, vitals_stale
uplink     tcp://127.0.0.1:1883 disconnected, 12 waiting, 2 events not stored yet (kept in memory)
part       store FAILED since 2026-11-26T03:12:00Z: journal.Append: write /var/lib/podd/podd.db: no space left on device (3 failures; retried)
sim strip  dark after 3 frames
clock      synchronised (the kernel's NTP status)
version    v0.1.0, boot b1
`
	if got := formatStatus(st); got != want {
		t.Fatalf("formatStatus:\n%s\nwant:\n%s", got, want)
	}
}

func TestFormatStatusInAMerge(t *testing.T) {
	at := time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)
	until := at.Add(12 * time.Hour)
	st := api.Status{
		Pod: "pod-1", State: "merged", Since: at, ClockSynced: true,
		Session: &controller.SessionStatus{ID: "m-1", Dreamscape: "tide", State: "merged", Since: at, MaxDuration: 3600,
			Baseline: &controller.Baseline{HeartRateBPM: 58.2, SpO2Pct: 97.1, Readings: 300}},
		Consent: api.Consent{Granted: true, ExpiresAt: &until, Source: "button"},
		Safety:  api.SafetyStatus{Level: "ok", Armed: []string{"heart_rate_high", "vitals_stale"}},
		Outputs: api.Outputs{},
		Vitals:  api.Vitals{Contact: "none"},
		Uplink:  api.UplinkStatus{Broker: "tcp://hub:1883", Connected: true},
		Show: &api.ShowStatus{Program: "slow-ocean", Playing: true, Zones: []string{"canopy", "floor", "sides"}, Places: []string{"back", "feet"},
			Limited: []string{"canopy"}},
	}
	want := `pod        pod-1
state      merged since 2026-11-26T23:00:00Z
verdict    ok: nothing needs doing
merge      m-1 (tide), merged since 2026-11-26T23:00:00Z, at most 1h0m0s merged
baseline   58 bpm, 97.1 % SpO2 (300 readings)
consent    given until 2026-11-27T11:00:00Z
safety     ok
outputs    on
show       slow-ocean on canopy, floor, sides; haptics back, feet; GUARD limiting canopy
heart rate unknown
SpO2       unknown
sensor     sees no one (an empty pod, or the sensor off the finger): vitals_stale disarmed outside a merge
armed      heart_rate_high, vitals_stale
uplink     tcp://hub:1883 connected, 0 waiting
clock      synchronised (the kernel's NTP status)
version    , boot 
`
	if got := formatStatus(st); got != want {
		t.Fatalf("formatStatus:\n%s\nwant:\n%s", got, want)
	}
}

// With require_hub, status shows the hub's presence and its receipt; a
// refused subscription to commands is shown with what to fix.
func TestFormatStatusOfTheHub(t *testing.T) {
	receipt := uint64(4711)
	for _, tt := range []struct {
		uplink api.UplinkStatus
		want   string
	}{
		{api.UplinkStatus{Broker: "tcp://hub:1883", Connected: true, Outbox: 3, Hub: "online", Receipt: &receipt},
			"uplink     tcp://hub:1883 connected, 3 waiting\nhub        online, receipted up to seq 4711\n"},
		{api.UplinkStatus{Broker: "tcp://hub:1883", Connected: true, Outbox: 40, Hub: "offline"},
			"uplink     tcp://hub:1883 connected, 40 waiting\nhub        offline (records held until it is online), no receipt yet\n"},
		{api.UplinkStatus{Broker: "tcp://hub:1883", Connected: true, CommandsRefused: true},
			"uplink     tcp://hub:1883 connected, 0 waiting\n           DEAF TO THE HUB: the broker refused the subscription to commands or merge-wide aborts (allow the pod's cmd topic and sleegation/v1/merges/+/abort in the broker's ACL)\n"},
	} {
		got := formatStatus(api.Status{Pod: "pod-1", State: "idle", ClockSynced: true, Uplink: tt.uplink})
		i := strings.Index(got, "uplink ")
		j := strings.Index(got, "clock ")
		if i < 0 || j < i || got[i:j] != tt.want {
			t.Errorf("formatStatus with %+v:\n%s\nwant the uplink lines:\n%s", tt.uplink, got, tt.want)
		}
	}
}

// A clock not synchronised is shown with what it means for the hub's
// commands.
func TestFormatStatusOfAnUnsynchronisedClock(t *testing.T) {
	const want = "clock      NOT SYNCHRONISED: the hub's signed commands are refused (clock_unsynced) until NTP has set the clock; only merge/abort is obeyed\nversion    v1, boot b\n"
	if got := formatStatus(api.Status{Pod: "pod-1", State: "idle", Version: "v1", Boot: "b"}); !strings.HasSuffix(got, want) {
		t.Fatalf("formatStatus:\n%s\nwant it to end with:\n%s", got, want)
	}
	if got := formatStatus(api.Status{Pod: "pod-1", State: "idle", ClockSynced: true}); !strings.Contains(got, "\nclock      synchronised (the kernel's NTP status)\n") {
		t.Fatalf("formatStatus with the clock synchronised:\n%s\nwant the clock line to say so", got)
	}
}

func TestStatusWithoutADaemonSaysSo(t *testing.T) {
	var out strings.Builder
	root := newRoot(&out)
	sock := filepath.Join(t.TempDir(), "absent.sock")
	root.SetArgs([]string{"--socket", sock, "status"})
	err := root.Execute()
	if err == nil || !strings.HasPrefix(err.Error(), "podd is not running, or not on "+sock) {
		t.Fatalf("status without podd = %v", err)
	}
}

func TestFormatOutputs(t *testing.T) {
	tests := []struct {
		o    api.Outputs
		want string
	}{
		{api.Outputs{Safe: false}, "outputs    on\n"},
		{api.Outputs{Safe: true}, "outputs    safe (safe light, motors off), opening\n"},
		{api.Outputs{Safe: true, Holds: []string{"latch_unknown"}}, "outputs    safe (safe light, motors off): the store has not been read: an earlier abort may be latched there\n"},
		{api.Outputs{Safe: false, Holds: []string{"latched"}, Unsafe: []string{"apa102(SPI0.0, 60 LEDs)"}},
			"outputs    NOT SAFE: apa102(SPI0.0, 60 LEDs) did not reach its safe state; retried every second\n"},
	}
	for _, tt := range tests {
		if got := formatOutputs(tt.o); got != tt.want {
			t.Errorf("formatOutputs(%+v) = %q, want %q", tt.o, got, tt.want)
		}
	}
}

func TestStatusOnARegularFileSaysWhatToFix(t *testing.T) {
	var out strings.Builder
	root := newRoot(&out)
	file := filepath.Join(t.TempDir(), "podd.sock")
	if err := os.WriteFile(file, []byte("notes"), 0o600); err != nil {
		t.Fatal(err)
	}
	root.SetArgs([]string{"--socket", file, "status"})
	err := root.Execute()
	want := file + " is not a socket: podd cannot serve its API there (remove the file, or fix api.socket in podd's configuration); podd keeps watching the sleeper meanwhile"
	if err == nil || err.Error() != want {
		t.Fatalf("status on a regular file = %v, want %q", err, want)
	}
}
