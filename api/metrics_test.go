package api

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/safety"
)

type fakeHealth struct{ err error }

func (f fakeHealth) Healthy() error { return f.err }

// get serves GET path on h as a request to the loopback address.
func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	return getHost(t, h, "127.0.0.1:9464", path)
}

func getHost(t *testing.T, h http.Handler, host, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = host
	h.ServeHTTP(rec, req)
	b, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Code, string(b)
}

// statusPod is a StatusSource whose Status a test sets.
type statusPod struct {
	mu sync.Mutex
	st Status
}

func (p *statusPod) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

func (p *statusPod) set(f func(*Status)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.st)
}

func f64(x float64) *float64 { return &x }

// fullStatus is a pod during a merge with a latched abort of an earlier
// rule, every part of Status filled.
func fullStatus() Status {
	return Status{
		Pod: "pod-7", Version: "1.4.2", State: "aborted", Simulated: true, ClockSynced: true,
		Session: &controller.SessionStatus{ID: "m-9", State: "merged", Baseline: &controller.Baseline{HeartRateBPM: 58, SpO2Pct: 97}},
		Safety: SafetyStatus{
			Level: safety.LevelAbort, Latch: controller.LatchStored,
			Pending: []string{safety.RuleSpO2Low},
			Armed:   []string{safety.RuleHeartRateHigh, safety.RuleHeartRateLow, safety.RuleSpO2Low, safety.RuleSpO2Critical, safety.RuleVitalsStale, safety.RulePipeline},
			Latched: &safety.Abort{Rule: safety.RuleHeartRateHigh, Detail: "heart_rate_bpm 141.0 above 130", Values: map[string]float64{"heart_rate_bpm": 141}, Limit: 130,
				At: time.Date(2026, 11, 30, 2, 13, 5, 0, time.UTC)},
		},
		Outputs: Outputs{Safe: true, Holds: []string{controller.HoldLatched}},
		Vitals:  Vitals{HeartRateBPM: f64(61.5), SpO2Pct: f64(96), Contact: "skin"},
		Uplink:  UplinkStatus{Broker: "tcp://127.0.0.1:1883", Connected: true, Outbox: 12, Unstored: 3},
		Sensors: []SensorStatus{
			{Name: "max30102", State: "ok"},
			{Name: "tmp117", State: "bus_error", PollErrors: 4, OpenErrors: 3, Reopens: 1},
		},
		Parts: []PartStatus{{Name: "store", State: controller.PartUp}, {Name: "uplink", State: controller.PartFailed, Failures: 2}},
		Counts: controller.Counts{
			Aborts:  map[string]uint64{safety.RuleHeartRateHigh: 1, safety.RuleSpO2Low: 2},
			Dropped: map[string]uint64{controller.DropStoreRefused: 5, controller.DropOutboxFull: 40},
		},
		Loops: []controller.LoopStatus{
			{Name: controller.LoopWatchdog, SinceTurnS: f64(0.05)},
			{Name: controller.LoopSession, SinceTurnS: f64(0.125)},
			{Name: "max30102", SinceTurnS: f64(0.2)},
			{Name: "tmp117"}, // not started
		},
		Show: &ShowStatus{Program: "calm-night", Zones: []string{"canopy"}, Frames: 9000, Skipped: 2, JitterP50: 0.25, JitterP99: 1.5, JitterMax: 4},
	}
}

// The metrics of a given status, exactly: every podd_ family, its HELP,
// TYPE, labels and values; the vitals absent without ExposeVitals.
func TestMetricsOfAStatusExactly(t *testing.T) {
	pod := &statusPod{st: fullStatus()}
	want := `
# HELP podd_aborts_total Aborts the safety watchdog latched since the daemon started, by rule (a latch restored at start is not counted).
# TYPE podd_aborts_total counter
podd_aborts_total{rule="eeg_arousal"} 0
podd_aborts_total{rule="heart_rate_high"} 1
podd_aborts_total{rule="heart_rate_low"} 0
podd_aborts_total{rule="heart_rate_rise"} 0
podd_aborts_total{rule="pipeline_stalled"} 0
podd_aborts_total{rule="sensor_stale"} 0
podd_aborts_total{rule="spo2_critical"} 0
podd_aborts_total{rule="spo2_low"} 2
podd_aborts_total{rule="stability_low"} 0
podd_aborts_total{rule="stress"} 0
podd_aborts_total{rule="temperature_high"} 0
podd_aborts_total{rule="temperature_low"} 0
podd_aborts_total{rule="vitals_stale"} 0
# HELP podd_build_info 1, with podd's version and the Go version it was built with.
# TYPE podd_build_info gauge
podd_build_info{goversion="` + runtime.Version() + `",version="1.4.2"} 1
# HELP podd_clock_synced 1 while the wall clock is synchronised (NTP).
# TYPE podd_clock_synced gauge
podd_clock_synced 1
# HELP podd_dropped_records_total Records let go before they were sent since the daemon started, by the reason of their dropped event (unstored_overflow, store_refused, outbox_full).
# TYPE podd_dropped_records_total counter
podd_dropped_records_total{reason="outbox_full"} 40
podd_dropped_records_total{reason="store_refused"} 5
podd_dropped_records_total{reason="unstored_overflow"} 0
# HELP podd_latched 1 while an abort is latched, with its rule.
# TYPE podd_latched gauge
podd_latched{rule="heart_rate_high"} 1
# HELP podd_loop_turn_age_seconds Time since a loop of the safety core last turned (watchdog: its evaluation; session; a sensor's loop: its open or poll), on the monotonic clock (absent before its first turn).
# TYPE podd_loop_turn_age_seconds gauge
podd_loop_turn_age_seconds{loop="max30102"} 0.2
podd_loop_turn_age_seconds{loop="session"} 0.125
podd_loop_turn_age_seconds{loop="watchdog"} 0.05
# HELP podd_outbox_records Records stored and not yet acknowledged: by the broker, or with uplink.require_hub by the hub's receipt.
# TYPE podd_outbox_records gauge
podd_outbox_records 12
# HELP podd_outputs_safe 1 while the actuators are held in their safe state.
# TYPE podd_outputs_safe gauge
podd_outputs_safe 1
# HELP podd_part_failures_total Failures of a supervised part since the daemon started.
# TYPE podd_part_failures_total counter
podd_part_failures_total{part="store"} 0
podd_part_failures_total{part="uplink"} 2
# HELP podd_part_up 1 while a supervised part (store, uplink, api, metrics, sim, broker) is up.
# TYPE podd_part_up gauge
podd_part_up{part="store"} 1
podd_part_up{part="uplink"} 0
# HELP podd_rule_state 1 for each safety rule's current state: disarmed, armed, pending (its alarm delay runs) or latched.
# TYPE podd_rule_state gauge
podd_rule_state{rule="eeg_arousal",state="disarmed"} 1
podd_rule_state{rule="heart_rate_high",state="latched"} 1
podd_rule_state{rule="heart_rate_low",state="armed"} 1
podd_rule_state{rule="heart_rate_rise",state="disarmed"} 1
podd_rule_state{rule="pipeline_stalled",state="armed"} 1
podd_rule_state{rule="sensor_stale",state="disarmed"} 1
podd_rule_state{rule="spo2_critical",state="armed"} 1
podd_rule_state{rule="spo2_low",state="pending"} 1
podd_rule_state{rule="stability_low",state="disarmed"} 1
podd_rule_state{rule="stress",state="disarmed"} 1
podd_rule_state{rule="temperature_high",state="disarmed"} 1
podd_rule_state{rule="temperature_low",state="disarmed"} 1
podd_rule_state{rule="vitals_stale",state="armed"} 1
# HELP podd_safety_level 1 for the safety watchdog's current level.
# TYPE podd_safety_level gauge
podd_safety_level{level="abort"} 1
# HELP podd_sensor_bus_errors_total A biometric sensor's failed polls and opens since the daemon started.
# TYPE podd_sensor_bus_errors_total counter
podd_sensor_bus_errors_total{sensor="max30102"} 0
podd_sensor_bus_errors_total{sensor="tmp117"} 7
# HELP podd_sensor_ok 1 while a biometric sensor delivers fresh, plausible data.
# TYPE podd_sensor_ok gauge
podd_sensor_ok{sensor="max30102"} 1
podd_sensor_ok{sensor="tmp117"} 0
# HELP podd_sensor_reopens_total Times a biometric sensor's chip was dropped and opened anew since the daemon started.
# TYPE podd_sensor_reopens_total counter
podd_sensor_reopens_total{sensor="max30102"} 0
podd_sensor_reopens_total{sensor="tmp117"} 1
# HELP podd_sensor_state 1 for a biometric sensor's current health (ok, starting, stale, bus_error, flatline, saturated, lead_off, no_contact).
# TYPE podd_sensor_state gauge
podd_sensor_state{sensor="max30102",state="ok"} 1
podd_sensor_state{sensor="tmp117",state="bus_error"} 1
# HELP podd_show_frame_jitter_seconds Lateness of the show's recent frames: median (0.5), 0.99 quantile and maximum (1).
# TYPE podd_show_frame_jitter_seconds gauge
podd_show_frame_jitter_seconds{quantile="0.5"} 0.00025
podd_show_frame_jitter_seconds{quantile="0.99"} 0.0015
podd_show_frame_jitter_seconds{quantile="1"} 0.004
# HELP podd_show_frames_skipped_total Frames the show loop skipped for being late since the daemon started.
# TYPE podd_show_frames_skipped_total counter
podd_show_frames_skipped_total 2
# HELP podd_show_frames_total Frames the show loop played since the daemon started.
# TYPE podd_show_frames_total counter
podd_show_frames_total 9000
# HELP podd_show_playing 1 while the show's frames reach the outputs.
# TYPE podd_show_playing gauge
podd_show_playing 0
# HELP podd_simulated 1 when the hardware is simulated.
# TYPE podd_simulated gauge
podd_simulated 1
# HELP podd_state 1 for the pod's current state.
# TYPE podd_state gauge
podd_state{state="aborted"} 1
# HELP podd_uplink_connected 1 while connected to the hub's broker.
# TYPE podd_uplink_connected gauge
podd_uplink_connected 1
# HELP podd_unstored_events Events kept in memory because the store refused them.
# TYPE podd_unstored_events gauge
podd_unstored_events 3
`
	if err := testutil.CollectAndCompare(statusCollector{pod: pod}, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}

	const vitals = `
# HELP podd_heart_rate_bpm Latest valid heart rate, beats per minute (absent when unknown; only with api.expose_vitals).
# TYPE podd_heart_rate_bpm gauge
podd_heart_rate_bpm 61.5
# HELP podd_spo2_ratio Latest valid SpO2, 0..1 (absent when unknown; only with api.expose_vitals).
# TYPE podd_spo2_ratio gauge
podd_spo2_ratio 0.96
`
	if err := testutil.CollectAndCompare(statusCollector{pod: pod, vitals: true}, strings.NewReader(vitals), "podd_heart_rate_bpm", "podd_spo2_ratio"); err != nil {
		t.Fatalf("with vitals exposed: %v", err)
	}
	pod.set(func(s *Status) { s.Vitals.SpO2Pct = nil })
	if err := testutil.CollectAndCompare(statusCollector{pod: pod, vitals: true}, strings.NewReader(strings.Join(strings.Split(vitals, "\n")[:4], "\n")+"\n"), "podd_heart_rate_bpm", "podd_spo2_ratio"); err != nil {
		t.Fatalf("with an unknown SpO2: %v", err)
	}
}

// /metrics serves the pod's metrics, Go's build info and podd's, and the
// vitals only when they are exposed.
func TestMetricsEndpointHidesTheVitalsUnlessExposed(t *testing.T) {
	pod := &statusPod{st: fullStatus()}
	for _, expose := range []bool{false, true} {
		m := NewMetricsServer(pod, fakeHealth{}, "127.0.0.1:0", PageOptions{ExposeVitals: expose})
		code, body := get(t, m.Handler(), "/metrics")
		if code != http.StatusOK {
			t.Fatalf("GET /metrics = %d", code)
		}
		for _, want := range []string{"\ngo_build_info{", "\npodd_build_info{", "\ngo_goroutines ", "\npodd_state{state=\"aborted\"} 1\n"} {
			if !strings.Contains(body, want) {
				t.Errorf("expose %v: metrics lack %q", expose, want)
			}
		}
		for _, v := range []string{"podd_heart_rate_bpm 61.5\n", "podd_spo2_ratio 0.96\n"} {
			if got := strings.Contains(body, v); got != expose {
				t.Errorf("expose_vitals %v: %q in /metrics: %v", expose, v, got)
			}
		}
		if !expose && (strings.Contains(body, "podd_heart_rate") || strings.Contains(body, "podd_spo2")) {
			t.Errorf("vitals not exposed, yet /metrics names them:\n%s", body)
		}
	}
}

func TestHealthz(t *testing.T) {
	m := NewMetricsServer(&fakePod{}, fakeHealth{}, "localhost:9464", PageOptions{})
	if code, body := get(t, m.Handler(), "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthy: %d %q", code, body)
	}
	m = NewMetricsServer(&fakePod{}, fakeHealth{errors.New("safety watchdog has not evaluated for 2s")}, "[::1]:9464", PageOptions{})
	if code, body := get(t, m.Handler(), "/healthz"); code != http.StatusServiceUnavailable || body != "safety watchdog has not evaluated for 2s\n" {
		t.Fatalf("stalled: %d %q", code, body)
	}
}

// A request that names the listener by anything but a loopback address or
// localhost is refused: a web page cannot read it through a name of its
// own resolved to 127.0.0.1.
func TestOnlyLoopbackHostNamesAreServed(t *testing.T) {
	m := NewMetricsServer(&fakePod{}, fakeHealth{}, "127.0.0.1:9464", PageOptions{StatusPage: true})
	for host, want := range map[string]int{
		"127.0.0.1:9464": http.StatusOK, "localhost:9464": http.StatusOK, "LocalHost:9464": http.StatusOK,
		"[::1]:9464": http.StatusOK, "127.0.0.2": http.StatusOK,
		"evil.example:9464": http.StatusMisdirectedRequest, "10.0.0.2:9464": http.StatusMisdirectedRequest,
		"localhost.evil.example": http.StatusMisdirectedRequest, "": http.StatusMisdirectedRequest,
	} {
		for _, path := range []string{"/healthz", "/"} {
			if code, body := getHost(t, m.Handler(), host, path); code != want {
				t.Errorf("Host %q, GET %s = %d %q, want %d", host, path, code, body, want)
			}
		}
	}
}
