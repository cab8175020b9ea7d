package api

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type fakeHealth struct{ err error }

func (f fakeHealth) Healthy() error { return f.err }

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Code, string(b)
}

func TestMetricsReflectTheStatus(t *testing.T) {
	m := NewMetricsServer(&fakePod{state: "aborted"}, fakeHealth{}, "127.0.0.1:0")
	code, body := get(t, m.Handler(), "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{
		`podd_state{state="aborted"} 1`,
		`podd_safety_level{level="abort"} 1`,
		`podd_latched{rule="heart_rate_high"} 1`,
		`podd_heart_rate_bpm 61.5`,
		`podd_uplink_connected 0`,
		`podd_outbox_records 0`,
		`podd_simulated 1`,
		`podd_sensor_ok{sensor="max30102"} 1`,
		`podd_sensor_ok{sensor="tmp117"} 0`,
		`podd_sensor_state{sensor="tmp117",state="bus_error"} 1`,
		`podd_sensor_bus_errors_total{sensor="tmp117"} 7`,
		`podd_sensor_reopens_total{sensor="tmp117"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "podd_spo2_pct ") {
		t.Errorf("an unknown SpO2 was exported:\n%s", body)
	}
}

func TestHealthz(t *testing.T) {
	m := NewMetricsServer(&fakePod{}, fakeHealth{}, "localhost:9464")
	if code, body := get(t, m.Handler(), "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthy: %d %q", code, body)
	}
	m = NewMetricsServer(&fakePod{}, fakeHealth{errors.New("safety watchdog has not evaluated for 2s")}, "[::1]:9464")
	if code, body := get(t, m.Handler(), "/healthz"); code != http.StatusServiceUnavailable || body != "safety watchdog has not evaluated for 2s\n" {
		t.Fatalf("stalled: %d %q", code, body)
	}
}
