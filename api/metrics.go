package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sleegation/podd/controller"
)

// Health reports whether the pod's safety watchdog is running and its parts
// are up; nil is healthy, otherwise the error says what is wrong.
type Health interface {
	Healthy() error
}

// MetricsServer serves /metrics (Prometheus) and /healthz on a loopback TCP
// address, for the pod's own monitoring. Every value is read from the pod's
// Status at scrape time, so the metrics keep no state of their own.
type MetricsServer struct {
	addr    string
	handler http.Handler
}

// NewMetricsServer returns a server for pod on addr. The configuration
// allows only loopback addresses: the metrics are for the pod's own host.
func NewMetricsServer(pod Pod, health Health, addr string) *MetricsServer {
	reg := prometheus.NewRegistry()
	reg.MustRegister(statusCollector{pod: pod})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := health.Healthy(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return &MetricsServer{addr: addr, handler: mux}
}

// Handler returns the server's HTTP handler.
func (m *MetricsServer) Handler() http.Handler { return m.handler }

// Run serves until ctx is done. It calls up, when not nil, once it listens.
func (m *MetricsServer) Run(ctx context.Context, up func()) error {
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		return fmt.Errorf("api: metrics listen: %w", err)
	}
	if up != nil {
		up()
	}
	srv := &http.Server{Handler: m.handler, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: metrics serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("api: metrics shutdown: %w", err)
	}
	return nil
}

var (
	descState     = prometheus.NewDesc("podd_state", "1 for the pod's current state.", []string{"state"}, nil)
	descSafety    = prometheus.NewDesc("podd_safety_level", "1 for the safety watchdog's current level.", []string{"level"}, nil)
	descLatched   = prometheus.NewDesc("podd_latched", "1 while an abort is latched, with its rule.", []string{"rule"}, nil)
	descHR        = prometheus.NewDesc("podd_heart_rate_bpm", "Latest valid heart rate (absent when unknown).", nil, nil)
	descSpO2      = prometheus.NewDesc("podd_spo2_pct", "Latest valid SpO2 (absent when unknown).", nil, nil)
	descConnected = prometheus.NewDesc("podd_uplink_connected", "1 while connected to the hub's broker.", nil, nil)
	descOutbox    = prometheus.NewDesc("podd_outbox_records", "Records stored and not yet acknowledged: by the broker, or with uplink.require_hub by the hub's receipt.", nil, nil)
	descSimulated = prometheus.NewDesc("podd_simulated", "1 when the hardware is simulated.", nil, nil)
	descUnstored  = prometheus.NewDesc("podd_unstored_events", "Events kept in memory because the store refused them.", nil, nil)
	descOutputs   = prometheus.NewDesc("podd_outputs_safe", "1 while the actuators are held in their safe state.", nil, nil)
	descPartUp    = prometheus.NewDesc("podd_part_up", "1 while a supervised part (store, uplink, api, metrics, sim, broker) is up.", []string{"part"}, nil)
	descPartFails = prometheus.NewDesc("podd_part_failures_total", "Failures of a supervised part since the daemon started.", []string{"part"}, nil)
	descSensorOK  = prometheus.NewDesc("podd_sensor_ok", "1 while a biometric sensor delivers fresh, plausible data.", []string{"sensor"}, nil)
	descSensorSt  = prometheus.NewDesc("podd_sensor_state", "1 for a biometric sensor's current health (ok, starting, stale, bus_error, flatline, saturated, lead_off, no_contact).", []string{"sensor", "state"}, nil)
	descBusErrors = prometheus.NewDesc("podd_sensor_bus_errors_total", "A biometric sensor's failed polls and opens since the daemon started.", []string{"sensor"}, nil)
	descReopens   = prometheus.NewDesc("podd_sensor_reopens_total", "Times a biometric sensor's chip was dropped and opened anew since the daemon started.", []string{"sensor"}, nil)
)

// statusCollector turns one Status into metrics at each scrape.
type statusCollector struct{ pod Pod }

func (statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descSafety, descLatched, descHR, descSpO2, descConnected, descOutbox, descSimulated, descUnstored, descOutputs, descPartUp, descPartFails, descSensorOK, descSensorSt, descBusErrors, descReopens} {
		ch <- d
	}
}

func (c statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.pod.Status()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descState, 1, st.State)
	gauge(descSafety, 1, st.Safety.Level)
	if st.Safety.Latched != nil {
		gauge(descLatched, 1, st.Safety.Latched.Rule)
	}
	if st.Vitals.HeartRateBPM != nil {
		gauge(descHR, *st.Vitals.HeartRateBPM)
	}
	if st.Vitals.SpO2Pct != nil {
		gauge(descSpO2, *st.Vitals.SpO2Pct)
	}
	gauge(descConnected, bool01(st.Uplink.Connected))
	if st.Uplink.Outbox >= 0 {
		gauge(descOutbox, float64(st.Uplink.Outbox))
	}
	gauge(descSimulated, bool01(st.Simulated))
	gauge(descUnstored, float64(st.Uplink.Unstored))
	gauge(descOutputs, bool01(st.Outputs.Safe))
	for _, ps := range st.Parts {
		gauge(descPartUp, bool01(ps.State == controller.PartUp), ps.Name)
		ch <- prometheus.MustNewConstMetric(descPartFails, prometheus.CounterValue, float64(ps.Failures), ps.Name)
	}
	for _, s := range st.Sensors {
		gauge(descSensorOK, bool01(s.State == "ok"), s.Name)
		gauge(descSensorSt, 1, s.Name, s.State)
		ch <- prometheus.MustNewConstMetric(descBusErrors, prometheus.CounterValue, float64(s.PollErrors+s.OpenErrors), s.Name)
		ch <- prometheus.MustNewConstMetric(descReopens, prometheus.CounterValue, float64(s.Reopens), s.Name)
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
