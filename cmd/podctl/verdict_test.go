package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/uplink"
)

var abortAt = time.Date(2026, 11, 30, 2, 13, 5, 0, time.UTC)

// wellPod is a pod with nothing wrong: connected, clock synchronised,
// outputs on, every sensor ok.
func wellPod() api.Status {
	return api.Status{Pod: "pod-1", State: "idle", Since: abortAt, ClockSynced: true,
		Safety:  api.SafetyStatus{Level: "ok", Latch: controller.LatchNone},
		Uplink:  api.UplinkStatus{Broker: "tcp://hub:1883", Connected: true},
		Sensors: []api.SensorStatus{{Name: "max30102", State: "ok", Since: abortAt}},
		Parts:   []api.PartStatus{{Name: "store", State: "up", Since: abortAt}}}
}

func latched(st api.Status, latch, blocked string) api.Status {
	st.State = "aborted"
	st.Safety.Level = "abort"
	st.Safety.Latched = &safety.Abort{Rule: "heart_rate_high", Detail: "heart_rate_bpm 151.0 above 130", At: abortAt}
	st.Safety.Latch = latch
	st.Safety.AckBlocked = blocked
	st.Outputs = api.Outputs{Safe: true, Holds: []string{controller.HoldLatched}}
	return st
}

// Finding: after an abort podctl status said "safety abort (pending:
// heart_rate_high)" with no next step. It now says what happened, when,
// and what to do, with why an ack would be refused now.
func TestStatusAfterAnAbortSaysWhatHappenedAndTheNextStep(t *testing.T) {
	st := latched(wellPod(), controller.LatchStored, "heart_rate_bpm 150.0 is not below 125")
	got := formatStatus(st)
	want := "state      aborted since 2026-11-30T02:13:05Z\n" +
		"problem    safety abort: heart_rate_high at 2026-11-30T02:13:05Z (latched)\n" +
		"next       check the sleeper; when the vitals are back in range run `podctl ack` (refused now: heart_rate_bpm 150.0 is not below 125)\n" +
		"consent "
	if !strings.Contains(got, want) {
		t.Fatalf("formatStatus:\n%s\nwant it to hold:\n%s", got, want)
	}
	st.Safety.AckBlocked = ""
	if fs := findings(st); len(fs) != 1 || fs[0].Next != "check the sleeper, then run `podctl ack` (the vitals are in range: it would be taken now)" {
		t.Fatalf("findings once the vitals are back: %+v", fs)
	}
}

// Each state the pod can be in that needs a technician has its own
// finding and next step; a well pod has none ("verdict ok").
func TestStatusSaysWhatIsWrongAndWhatToDoNext(t *testing.T) {
	for _, tt := range []struct {
		name string
		mod  func(*api.Status)
		want []finding
	}{
		{"well", func(*api.Status) {}, nil},
		{"refused ack conditions pending", func(st *api.Status) {
			*st = latched(*st, controller.LatchStored, "vitals are not valid")
		}, []finding{{"safety abort: heart_rate_high at 2026-11-30T02:13:05Z (latched)",
			"check the sleeper; when the vitals are back in range run `podctl ack` (refused now: vitals are not valid)"}}},
		{"latch not stored", func(st *api.Status) { *st = latched(*st, controller.LatchUnsaved, "") },
			[]finding{{"safety abort: heart_rate_high at 2026-11-30T02:13:05Z (latched)",
				"the store refuses writes, so the ack is refused until the latch is stored (retried every second): check the disk (df -h on storage.path's directory); then check the sleeper and run `podctl ack`"}}},
		{"store not read", func(st *api.Status) { *st = latched(*st, controller.LatchUnknown, "") },
			[]finding{{"safety abort: heart_rate_high at 2026-11-30T02:13:05Z (latched)",
				"wait for the store to be read (see the store's line below): until then the latch cannot be acknowledged"}}},
		{"store damaged", func(st *api.Status) {
			*st = latched(*st, controller.LatchStored, "")
			st.Safety.Latched.Rule = "store_damaged"
		}, []finding{{"store damaged at 2026-11-30T02:13:05Z: the pod started latched on a fresh store, as an abort may have been lost with the file (latched)",
			"the damaged file was kept beside the store (podd.db.damaged-*) for a technician; check the sleeper, then run `podctl ack` (the vitals are in range: it would be taken now)"}}},
		{"outputs not safe", func(st *api.Status) {
			st.Outputs = api.Outputs{Unsafe: []string{"pca9685(0x40)"}}
		}, []finding{{"outputs NOT SAFE: pca9685(0x40) did not reach its safe state (podd retries every second)",
			"if it lasts, switch the output's power off and check its bus and wiring; journalctl -u podd says which write fails"}}},
		{"alarm delay running", func(st *api.Status) { st.Safety.Pending = []string{"spo2_low"}; st.Safety.Level = "warn" },
			[]finding{{"alarm delay running: spo2_low (the pod aborts if it lasts)", "check the sleeper and the sensors now"}}},
		{"outputs held: show stalled", func(st *api.Status) {
			st.Outputs = api.Outputs{Safe: true, Holds: []string{controller.HoldShowStalled}}
		}, []finding{{"outputs held in their safe state: the dreamscape played no frame for a second (a hung bus under a light or a motor?)",
			"check the lights' and motors' buses and wiring (journalctl -u podd); the outputs stay held a minute, longer after repeated stalls"}}},
		{"outputs held: settling is no problem", func(st *api.Status) {
			st.Outputs = api.Outputs{Safe: true, Holds: []string{controller.HoldSettling}}
		}, nil},
		{"sensor fault", func(st *api.Status) {
			st.Sensors[0] = api.SensorStatus{Name: "max30102", State: "bus_error", Since: abortAt, Error: "i2c: NACK"}
		}, []finding{{"sensor max30102 BUS_ERROR since 2026-11-30T02:13:05Z: i2c: NACK",
			"the chip does not answer on its bus: check its wiring, its address (sensors.*) and its supply"}}},
		{"an empty pod's sensors without contact are no problem", func(st *api.Status) {
			st.Vitals.Contact = "none"
			st.Sensors = []api.SensorStatus{{Name: "max30102", State: "ok"}, {Name: "ads1299", State: "lead_off", Since: abortAt},
				{Name: "ads1115", State: "no_contact", Since: abortAt}, {Name: "tmp117", State: "no_contact", Since: abortAt}}
		}, nil},
		{"an empty pod's sensor fault is", func(st *api.Status) {
			st.Vitals.Contact = "none"
			st.Sensors = []api.SensorStatus{{Name: "max30102", State: "ok"}, {Name: "tmp117", State: "bus_error", Since: abortAt, Error: "i2c: NACK"}}
		}, []finding{{"sensor tmp117 BUS_ERROR since 2026-11-30T02:13:05Z: i2c: NACK",
			"the chip does not answer on its bus: check its wiring, its address (sensors.*) and its supply"}}},
		{"lead-off during a session is", func(st *api.Status) {
			st.Vitals.Contact = "none"
			st.Session = &controller.SessionStatus{}
			st.Sensors = []api.SensorStatus{{Name: "max30102", State: "ok"}, {Name: "ads1299", State: "lead_off", Since: abortAt}}
		}, []finding{{"sensor ads1299 LEAD_OFF since 2026-11-30T02:13:05Z", sensorHint["lead_off"]}}},
		{"not publishing", func(st *api.Status) { st.Uplink.Duplicate = "another pod is online as pod-1" },
			[]finding{{"NOT PUBLISHING: another pod is online as pod-1", "give each pod its own pod.id (a copied configuration?), then restart the pod whose id changed"}}},
		{"uplink down", func(st *api.Status) {
			st.Uplink.Connected, st.Uplink.Broker = false, ""
			st.Uplink.LastError = &uplink.LinkError{Broker: "ssl://hub:8883", Error: "TLS: the broker's certificate is not trusted", At: abortAt}
		}, []finding{{"uplink not connected to its broker (last error 2026-11-30T02:13:05Z: TLS: the broker's certificate is not trusted)",
			"check the network and the broker named by uplink.broker; records wait in the store's outbox meanwhile"}}},
		{"hub offline", func(st *api.Status) { st.Uplink.Hub = controller.HubOffline },
			[]finding{{"the hub is offline (uplink.require_hub): records are held until it is online", "check the hub's service; nothing is lost meanwhile"}}},
		{"part failed", func(st *api.Status) {
			st.Parts[0] = api.PartStatus{Name: "store", State: controller.PartFailed, Error: "open /var/lib/podd/podd.db: no such file or directory", Failures: 2}
		}, []finding{{"part store FAILED: open /var/lib/podd/podd.db: no such file or directory (2 failures; retried)",
			"check storage.path: its directory must exist (systemd's StateDirectory makes /var/lib/podd), be writable by podd, and have space (df -h); podd retries"}}},
		{"clock not synced", func(st *api.Status) { st.ClockSynced = false },
			[]finding{{"clock NOT SYNCHRONISED: the hub's signed commands are refused (clock_unsynced); only merge/abort is obeyed",
				"enable NTP: sudo timedatectl set-ntp true, then timedatectl timesync-status (podctl doctor checks it too)"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := wellPod()
			tt.mod(&st)
			got := findings(st)
			if len(got) != len(tt.want) {
				t.Fatalf("findings = %+v\nwant %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("finding %d = %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
			if len(tt.want) == 0 && !strings.Contains(formatStatus(st), "\nverdict    ok: nothing needs doing\n") {
				t.Errorf("a well pod's status lacks the ok verdict:\n%s", formatStatus(st))
			}
		})
	}
}

// Finding: status showed no clock state, uptime or last uplink error.
func TestStatusShowsTheClockUptimeAndLastUplinkError(t *testing.T) {
	st := wellPod()
	st.Started, st.UptimeS = abortAt.Add(-26*time.Hour-3*time.Minute), (26*time.Hour + 3*time.Minute + 4*time.Second).Seconds()
	st.Uplink.LastError = &uplink.LinkError{Broker: "tcp://hub:1883", Error: "dial tcp 10.0.0.2:1883: connect: connection refused", At: abortAt}
	got := formatStatus(st)
	for _, want := range []string{
		"\nuplink     tcp://hub:1883 connected, 0 waiting\n           last error 2026-11-30T02:13:05Z from tcp://hub:1883: dial tcp 10.0.0.2:1883: connect: connection refused\n",
		"\nclock      synchronised (the kernel's NTP status)\nuptime     1d02h03m (since 2026-11-29T00:10:05Z)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("formatStatus:\n%s\nwant it to hold:\n%s", got, want)
		}
	}
	for _, tt := range []struct {
		s    float64
		want string
	}{{59.9, "59s"}, {3600, "1h00m"}, {7322, "2h02m"}} {
		if got := formatUptime(api.Status{Started: abortAt, UptimeS: tt.s}); got != tt.want+" (since 2026-11-30T02:13:05Z)" {
			t.Errorf("formatUptime(%v s) = %q, want %q", tt.s, got, tt.want)
		}
	}
}
