package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sleegation/podd/controller"
)

// Health reports whether the pod's safety watchdog is running and its parts
// are up; nil is healthy, otherwise the error says what is wrong.
type Health interface {
	Healthy() error
}

// MetricsServer serves /metrics (Prometheus) and /healthz on a loopback TCP
// address, for the pod's own monitoring, and, when configured, the status
// page (GET /, its files and its stream GET /v1/stream). Every value is
// read from the pod's Status at scrape time, so the metrics keep no state
// of their own.
//
// Any user of the machine can connect to a loopback port: the sleeper's
// vitals are left out of the metrics and the page unless
// PageOptions.ExposeVitals. A request whose Host is not a loopback IP
// address or localhost is refused (421): a web page in a browser on the
// pod cannot read the listener through a name of its own that resolves to
// 127.0.0.1 (DNS rebinding).
type MetricsServer struct {
	addr    string
	handler http.Handler
}

// NewMetricsServer returns a server for pod on addr. The configuration
// allows only loopback addresses: the metrics are for the pod's own host.
func NewMetricsServer(pod StatusSource, health Health, addr string, opts PageOptions) *MetricsServer {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		statusCollector{pod: pod, vitals: opts.ExposeVitals},
		collectors.NewBuildInfoCollector(),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := health.Healthy(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	if opts.StatusPage {
		p := newStatusPage(pod, opts)
		mux.HandleFunc("GET /v1/stream", p.stream)
		mux.HandleFunc("GET /", p.serveFile)
	}
	return &MetricsServer{addr: addr, handler: loopbackHost(mux)}
}

// loopbackHost refuses a request whose Host header is not a loopback IP
// address or localhost, with 421 Misdirected Request.
func loopbackHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
			http.Error(w, fmt.Sprintf("api: host %q is not a loopback address: ask for http://127.0.0.1:PORT/ or http://localhost:PORT/ (from another machine, through an SSH tunnel)", r.Host), http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
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
	// Requests' contexts end with ctx, so the status page's streams end
	// and Shutdown does not wait for them.
	srv := &http.Server{Handler: m.handler, ReadHeaderTimeout: 5 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
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
	descRule      = prometheus.NewDesc("podd_rule_state", "1 for each safety rule's current state: disarmed, armed, pending (its alarm delay runs) or latched.", []string{"rule", "state"}, nil)
	descAborts    = prometheus.NewDesc("podd_aborts_total", "Aborts the safety watchdog latched since the daemon started, by rule (a latch restored at start is not counted).", []string{"rule"}, nil)
	descHR        = prometheus.NewDesc("podd_heart_rate_bpm", "Latest valid heart rate, beats per minute (absent when unknown; only with api.expose_vitals).", nil, nil)
	descSpO2      = prometheus.NewDesc("podd_spo2_ratio", "Latest valid SpO2, 0..1 (absent when unknown; only with api.expose_vitals).", nil, nil)
	descConnected = prometheus.NewDesc("podd_uplink_connected", "1 while connected to the hub's broker.", nil, nil)
	descOutbox    = prometheus.NewDesc("podd_outbox_records", "Records stored and not yet acknowledged: by the broker, or with uplink.require_hub by the hub's receipt.", nil, nil)
	descDropped   = prometheus.NewDesc("podd_dropped_records_total", "Records let go before they were sent since the daemon started, by the reason of their dropped event (unstored_overflow, store_refused, outbox_full).", []string{"reason"}, nil)
	descSimulated = prometheus.NewDesc("podd_simulated", "1 when the hardware is simulated.", nil, nil)
	descClock     = prometheus.NewDesc("podd_clock_synced", "1 while the wall clock is synchronised (NTP).", nil, nil)
	descUnstored  = prometheus.NewDesc("podd_unstored_events", "Events kept in memory because the store refused them.", nil, nil)
	descOutputs   = prometheus.NewDesc("podd_outputs_safe", "1 while the actuators are held in their safe state.", nil, nil)
	descPartUp    = prometheus.NewDesc("podd_part_up", "1 while a supervised part (store, uplink, api, metrics, sim, broker) is up.", []string{"part"}, nil)
	descPartFails = prometheus.NewDesc("podd_part_failures_total", "Failures of a supervised part since the daemon started.", []string{"part"}, nil)
	descSensorOK  = prometheus.NewDesc("podd_sensor_ok", "1 while a biometric sensor delivers fresh, plausible data.", []string{"sensor"}, nil)
	descSensorSt  = prometheus.NewDesc("podd_sensor_state", "1 for a biometric sensor's current health (ok, starting, stale, bus_error, flatline, saturated, lead_off, no_contact).", []string{"sensor", "state"}, nil)
	descBusErrors = prometheus.NewDesc("podd_sensor_bus_errors_total", "A biometric sensor's failed polls and opens since the daemon started.", []string{"sensor"}, nil)
	descReopens   = prometheus.NewDesc("podd_sensor_reopens_total", "Times a biometric sensor's chip was dropped and opened anew since the daemon started.", []string{"sensor"}, nil)
	descLoopAge   = prometheus.NewDesc("podd_loop_turn_age_seconds", "Time since a loop of the safety core last turned (watchdog: its evaluation; session; a sensor's loop: its open or poll), on the monotonic clock (absent before its first turn).", []string{"loop"}, nil)
	descShowPlay  = prometheus.NewDesc("podd_show_playing", "1 while the show's frames reach the outputs.", nil, nil)
	descFrames    = prometheus.NewDesc("podd_show_frames_total", "Frames the show loop played since the daemon started.", nil, nil)
	descSkipped   = prometheus.NewDesc("podd_show_frames_skipped_total", "Frames the show loop skipped for being late since the daemon started.", nil, nil)
	descJitter    = prometheus.NewDesc("podd_show_frame_jitter_seconds", "Lateness of the show's recent frames: median (0.5), 0.99 quantile and maximum (1).", []string{"quantile"}, nil)
	descBuild     = prometheus.NewDesc("podd_build_info", "1, with podd's version and the Go version it was built with.", []string{"version", "goversion"}, nil)
)

var allDescs = []*prometheus.Desc{descState, descSafety, descLatched, descRule, descAborts, descHR, descSpO2, descConnected,
	descOutbox, descDropped, descSimulated, descClock, descUnstored, descOutputs, descPartUp, descPartFails, descSensorOK,
	descSensorSt, descBusErrors, descReopens, descLoopAge, descShowPlay, descFrames, descSkipped, descJitter, descBuild}

// statusCollector turns one Status into metrics at each scrape; the
// sleeper's vitals only when vitals is set.
type statusCollector struct {
	pod    StatusSource
	vitals bool
}

func (statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

func (c statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.pod.Status()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(descBuild, 1, st.Version, runtime.Version())
	gauge(descState, 1, st.State)
	gauge(descSafety, 1, st.Safety.Level)
	if st.Safety.Latched != nil {
		gauge(descLatched, 1, st.Safety.Latched.Rule)
	}
	for _, r := range RuleStates(st.Safety) {
		gauge(descRule, 1, r.Rule, r.State)
	}
	// Every rule and every reason has its series from the start, at 0, so
	// a rate over the first abort or drop sees it.
	for _, rule := range withKeys(Rules, st.Counts.Aborts) {
		counter(descAborts, float64(st.Counts.Aborts[rule]), rule)
	}
	if c.vitals {
		if st.Vitals.HeartRateBPM != nil {
			gauge(descHR, *st.Vitals.HeartRateBPM)
		}
		if st.Vitals.SpO2Pct != nil {
			gauge(descSpO2, *st.Vitals.SpO2Pct/100)
		}
	}
	gauge(descConnected, bool01(st.Uplink.Connected))
	if st.Uplink.Outbox >= 0 {
		gauge(descOutbox, float64(st.Uplink.Outbox))
	}
	for _, reason := range withKeys(dropReasons, st.Counts.Dropped) {
		counter(descDropped, float64(st.Counts.Dropped[reason]), reason)
	}
	gauge(descSimulated, bool01(st.Simulated))
	gauge(descClock, bool01(st.ClockSynced))
	gauge(descUnstored, float64(st.Uplink.Unstored))
	gauge(descOutputs, bool01(st.Outputs.Safe))
	for _, ps := range st.Parts {
		gauge(descPartUp, bool01(ps.State == controller.PartUp), ps.Name)
		counter(descPartFails, float64(ps.Failures), ps.Name)
	}
	for _, s := range st.Sensors {
		gauge(descSensorOK, bool01(s.State == "ok"), s.Name)
		gauge(descSensorSt, 1, s.Name, s.State)
		counter(descBusErrors, float64(s.PollErrors+s.OpenErrors), s.Name)
		counter(descReopens, float64(s.Reopens), s.Name)
	}
	for _, l := range st.Loops {
		if l.SinceTurnS != nil {
			gauge(descLoopAge, *l.SinceTurnS, l.Name)
		}
	}
	if sh := st.Show; sh != nil {
		gauge(descShowPlay, bool01(sh.Playing))
		counter(descFrames, float64(sh.Frames))
		counter(descSkipped, float64(sh.Skipped))
		gauge(descJitter, sh.JitterP50/1000, "0.5")
		gauge(descJitter, sh.JitterP99/1000, "0.99")
		gauge(descJitter, sh.JitterMax/1000, "1")
	}
}

// dropReasons are the reasons of controller.Counts.Dropped.
var dropReasons = []string{controller.DropUnstoredOverflow, controller.DropStoreRefused, controller.DropOutboxFull}

// withKeys returns names followed by the keys of m not among them, sorted.
func withKeys(names []string, m map[string]uint64) []string {
	out := slices.Clone(names)
	var more []string
	for k := range m {
		if !slices.Contains(names, k) {
			more = append(more, k)
		}
	}
	slices.Sort(more)
	return append(out, more...)
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
