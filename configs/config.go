package configs

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/viper"

	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/uplink"
)

// Mode says whether the pod runs on real buses or on simulated ones.
type Mode string

// The hardware modes.
const (
	ModeSim   Mode = "sim"
	ModeLinux Mode = "linux"
)

// Embedded is the uplink.broker value that runs an MQTT broker inside podd.
const Embedded = "embedded"

// Bounds of the numeric keys.
const (
	MinLEDCount = 1
	MaxLEDCount = 1024
	// MinTelemetryInterval and MaxTelemetryInterval bound telemetry.interval,
	// as they bound a hub's telemetry/interval command.
	MinTelemetryInterval = hubcmd.MinTelemetryInterval
	MaxTelemetryInterval = hubcmd.MaxTelemetryInterval
	maxSocketPath        = 107 // sun_path is 108 bytes with its terminating NUL
	// The bounds of storage.max_outbox_records and storage.max_outbox_bytes:
	// the journal's least (room for a record and the report of a drop), and
	// ten times its default records (23 days of 1 Hz telemetry) and 1 GiB
	// of records (a file of about 1.4 GiB, the most a 32-bit board maps
	// safely).
	MinOutboxRecords = 2
	MaxOutboxRecords = 2000000
	MinOutboxBytes   = 64 << 10
	MaxOutboxBytes   = 1 << 30
	// The bounds of uplink.receipt_timeout: more than a hub's receipt
	// interval (1 s) and a window's round trips, and less than a resend
	// that waits past the end of a short merge.
	MinReceiptTimeout = 5 * time.Second
	MaxReceiptTimeout = 10 * time.Minute

	// The bounds of storage.max_audit_entries: a night's audited events at
	// the least, and at most about 300 MB of entries.
	MinAuditEntries = 100
	MaxAuditEntries = 1000000
	// MinListenPort is the lowest port podd listens on: it runs as the
	// unprivileged user podd (systemd/podd.service), which may not bind
	// the ports below.
	MinListenPort = 1024
)

// Config is a validated configuration.
type Config struct {
	Pod       PodConfig
	Hardware  HardwareConfig
	Sensors   SensorsConfig
	Uplink    UplinkConfig
	Storage   StorageConfig
	API       APIConfig
	Sim       SimConfig
	Telemetry TelemetryConfig
	History   HistoryConfig
	Session   SessionConfig
	Security  SecurityConfig
	Safety    safety.Limits
	Lights    LightsConfig
	Haptics   HapticsConfig
	// Dreamscape is what the pod plays.
	Dreamscape DreamscapeConfig
	Watchdog   WatchdogConfig
	Log        LogConfig
}

// WatchdogConfig is the kernel's hardware watchdog.
type WatchdogConfig struct {
	Device  string        // watchdog.device: e.g. /dev/watchdog; empty for none
	Timeout time.Duration // watchdog.timeout: reboot after this long without a ping
}

// PodConfig identifies the pod.
type PodConfig struct {
	ID string // pod.id: [a-z0-9-]{1,32}, the pod's name on the hub
}

// HardwareConfig selects the buses.
type HardwareConfig struct {
	Mode     Mode   // hardware.mode
	I2CBus   string // hardware.i2c_bus: a periph i2creg name
	SPIPort  string // hardware.spi_port: a periph spireg name
	LEDCount int    // hardware.led_count
	// ConsentButton and PanicButton are hardware.consent_button and
	// hardware.panic_button: the sleeper's buttons, each a GPIO line by its
	// periph gpioreg name (e.g. "GPIO17"), or empty for none. In sim mode
	// the simulator's lines are used whatever they say.
	ConsentButton, PanicButton string
	// AckButton is hardware.ack_button: the pod's acknowledgement button,
	// a GPIO line as the others, or empty for none. AckHold is
	// hardware.ack_hold: how long it must be held down before it clears a
	// latched abort (controller.MinAckHold..MaxAckHold).
	AckButton string
	AckHold   time.Duration
	// IndicatorLED is hardware.indicator_led: a GPIO line driving the
	// pod's indicator LED (for the technician, out of the sleeper's
	// view), lit while an abort is latched; empty for none.
	IndicatorLED string
	// ButtonsActiveLow is hardware.buttons_active_low: the buttons pull
	// their line to ground when pressed (the line's pull-up is enabled);
	// false: they drive it high (its pull-down is enabled).
	ButtonsActiveLow bool
	// OximeterLEDsSwapped is hardware.oximeter_leds_swapped: the pulse
	// oximeter's board wires its LEDs the other way round (some MAX30102
	// clone modules; max30102.Opts.SwapRedIR).
	OximeterLEDsSwapped bool
}

// SecurityConfig is what the pod trusts.
type SecurityConfig struct {
	// HubKeys is security.hub_keys: the hub's JWK Set (a JSON file of
	// Ed25519 public keys, package hubcmd), the keys its commands are
	// signed with; empty: none, and the pod accepts only merge/abort.
	HubKeys string
}

// SessionConfig tunes merge sessions (controller.SessionConfig).
type SessionConfig struct {
	BaselineDuration time.Duration // session.baseline_duration
	EndingDuration   time.Duration // session.ending_duration
	ConsentDuration  time.Duration // session.consent_duration
}

// UplinkConfig is the MQTT connection to the hub.
type UplinkConfig struct {
	// Brokers is uplink.broker: one broker URL, or a list (in YAML, or
	// comma-separated in PODD_UPLINK_BROKER) tried in order and then in
	// turn. Each is tcp://host:port or mqtt://host:port (plain MQTT over
	// TCP) or ssl://, tls:// or mqtts://host:port (MQTT over TLS); all of
	// one list use the same transport. Or Embedded, alone.
	Brokers []string
	// Broker is the first of Brokers.
	Broker string
	// TLS is uplink.tls: PEM files for the TLS brokers.
	TLS TLSConfig
	// Username is uplink.username; its password is read from
	// uplink.password_file (the file's first line), never from the YAML.
	Username     string
	PasswordFile string
	// EmbeddedListen is uplink.embedded_listen: the host:port the embedded
	// broker listens on, its host a loopback address or localhost (it has
	// no authentication).
	EmbeddedListen string
	ClientID       string // uplink.client_id
	// RequireHub is uplink.require_hub (default false): a record leaves
	// the outbox only once the hub has receipted it, not on the broker's
	// PUBACK, and the backlog is held while the hub is not online
	// (uplink.Config.RequireHub).
	RequireHub bool
	// ReceiptTimeout is uplink.receipt_timeout (default 30s, 5s..10m): with
	// require_hub, how long records sent and not receipted wait before
	// they are sent again.
	ReceiptTimeout time.Duration
}

// TLSConfig is uplink.tls: ca (the CA certificates to trust; empty: the
// system's roots), cert and key (a client certificate, both or neither) and
// server_name (the name the broker's certificate must carry; empty: each
// broker's host).
type TLSConfig struct {
	CA, Cert, Key, ServerName string
}

// Embedded reports whether podd runs the broker itself.
func (u UplinkConfig) Embedded() bool { return u.Broker == Embedded }

// TLSBrokers reports whether the brokers are reached over TLS.
func (u UplinkConfig) TLSBrokers() bool {
	for _, b := range u.Brokers {
		if s, _, ok := strings.Cut(b, "://"); ok && slices.Contains(tlsSchemes, s) {
			return true
		}
	}
	return false
}

// ClientTLS loads the TLS configuration of TLS brokers (nil for plain ones).
func (u UplinkConfig) ClientTLS() (*tls.Config, error) {
	if !u.TLSBrokers() {
		return nil, nil
	}
	return uplink.LoadTLS(u.TLS.CA, u.TLS.Cert, u.TLS.Key, u.TLS.ServerName)
}

// Password reads the first line of PasswordFile; "" when there is none.
func (u UplinkConfig) Password() (string, error) {
	if u.PasswordFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(u.PasswordFile)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", errors.New("its first line is empty")
	}
	return line, nil
}

// StorageConfig is the local store.
type StorageConfig struct {
	Path string // storage.path: the bbolt file
	// MaxOutboxRecords is storage.max_outbox_records, and MaxOutboxBytes
	// storage.max_outbox_bytes (bytes of stored records): the outbox's
	// bounds, journal.Options.MaxOutbox and MaxOutboxBytes.
	MaxOutboxRecords int
	MaxOutboxBytes   int64
	// MaxAuditEntries is storage.max_audit_entries: the most entries the
	// audit log keeps, journal.Options.MaxAuditEntries.
	MaxAuditEntries int
}

// APIConfig is the local API.
type APIConfig struct {
	Socket string // api.socket: the Unix socket path
	// MetricsListen is api.metrics_listen: a loopback host:port (a
	// loopback IP address or localhost) serving /metrics and /healthz, or
	// empty for none.
	MetricsListen string
	// StatusPage is api.status_page: the metrics listener also serves the
	// status page (GET /) and its stream (GET /v1/stream). It needs
	// MetricsListen.
	StatusPage bool
	// ExposeVitals is api.expose_vitals: the sleeper's vitals appear on
	// the status page and in /metrics. Any user of the pod's machine can
	// read the loopback listener, so it is off by default.
	ExposeVitals bool
}

// SimConfig is the simulator.
type SimConfig struct {
	Scenario string // sim.scenario: the scenario YAML; required in sim mode
	// RecordOutputs is sim.record_outputs: a file that receives every
	// frame each simulated output showed, one JSON object a line (package
	// sim, OutputRecorder); empty for none.
	RecordOutputs string
}

// TelemetryConfig is the telemetry cadence.
type TelemetryConfig struct {
	Interval time.Duration // telemetry.interval
}

// HistoryConfig is the pod's night history in the store (downsampled
// vitals and a copy of every event, for podctl events and report).
type HistoryConfig struct {
	// Retention is history.retention: how long entries are kept,
	// journal.Options.HistoryRetention (journal.MinHistoryRetention..
	// MaxHistoryRetention, 1h..2160h).
	Retention time.Duration
}

// LogConfig is the logger.
type LogConfig struct {
	Level slog.Level // log.level: debug, info, warn or error
}

// key is one configuration key: its default (nil when it has none) and how
// a raw value from YAML or the environment is stored into a Config.
type key struct {
	name string
	def  any
	set  func(c *Config, raw any) error
}

func keys() []key {
	d := safety.DefaultLimits()
	return append([]key{
		{"pod.id", nil, str(func(c *Config, s string) { c.Pod.ID = s })},
		{"hardware.mode", nil, str(func(c *Config, s string) { c.Hardware.Mode = Mode(s) })},
		{"hardware.i2c_bus", "1", str(func(c *Config, s string) { c.Hardware.I2CBus = s })},
		{"hardware.spi_port", "SPI0.0", str(func(c *Config, s string) { c.Hardware.SPIPort = s })},
		{"hardware.led_count", 60, integer(MinLEDCount, MaxLEDCount, func(c *Config, n int) { c.Hardware.LEDCount = n })},
		{"hardware.consent_button", "", str(func(c *Config, s string) { c.Hardware.ConsentButton = s })},
		{"hardware.panic_button", "", str(func(c *Config, s string) { c.Hardware.PanicButton = s })},
		{"hardware.ack_button", "", str(func(c *Config, s string) { c.Hardware.AckButton = s })},
		{"hardware.ack_hold", controller.DefaultAckHold, duration(func(c *Config, v time.Duration) { c.Hardware.AckHold = v })},
		{"hardware.indicator_led", "", str(func(c *Config, s string) { c.Hardware.IndicatorLED = s })},
		{"hardware.buttons_active_low", true, boolean(func(c *Config, b bool) { c.Hardware.ButtonsActiveLow = b })},
		{"hardware.oximeter_leds_swapped", false, boolean(func(c *Config, b bool) { c.Hardware.OximeterLEDsSwapped = b })},
		{"uplink.broker", nil, brokerList},
		{"uplink.tls.ca", "", str(func(c *Config, s string) { c.Uplink.TLS.CA = s })},
		{"uplink.tls.cert", "", str(func(c *Config, s string) { c.Uplink.TLS.Cert = s })},
		{"uplink.tls.key", "", str(func(c *Config, s string) { c.Uplink.TLS.Key = s })},
		{"uplink.tls.server_name", "", str(func(c *Config, s string) { c.Uplink.TLS.ServerName = s })},
		{"uplink.username", "", str(func(c *Config, s string) { c.Uplink.Username = s })},
		{"uplink.password_file", "", str(func(c *Config, s string) { c.Uplink.PasswordFile = s })},
		{"uplink.embedded_listen", "127.0.0.1:1883", str(func(c *Config, s string) { c.Uplink.EmbeddedListen = s })},
		{"uplink.client_id", nil, str(func(c *Config, s string) { c.Uplink.ClientID = s })}, // default derived from pod.id
		{"uplink.require_hub", false, boolean(func(c *Config, b bool) { c.Uplink.RequireHub = b })},
		{"uplink.receipt_timeout", uplink.DefaultReceiptTimeout, duration(func(c *Config, d time.Duration) { c.Uplink.ReceiptTimeout = d })},
		{"storage.path", nil, str(func(c *Config, s string) { c.Storage.Path = s })},
		{"storage.max_outbox_records", journal.DefaultMaxOutbox, integer(MinOutboxRecords, MaxOutboxRecords, func(c *Config, n int) { c.Storage.MaxOutboxRecords = n })},
		{"storage.max_outbox_bytes", journal.DefaultMaxOutboxBytes, size(func(c *Config, n int64) { c.Storage.MaxOutboxBytes = n })},
		{"storage.max_audit_entries", journal.DefaultMaxAuditEntries, integer(MinAuditEntries, MaxAuditEntries, func(c *Config, n int) { c.Storage.MaxAuditEntries = n })},
		{"api.socket", nil, str(func(c *Config, s string) { c.API.Socket = s })},
		{"api.metrics_listen", "", str(func(c *Config, s string) { c.API.MetricsListen = s })},
		{"api.status_page", false, boolean(func(c *Config, b bool) { c.API.StatusPage = b })},
		{"api.expose_vitals", false, boolean(func(c *Config, b bool) { c.API.ExposeVitals = b })},
		{"sim.scenario", nil, str(func(c *Config, s string) { c.Sim.Scenario = s })},
		{"telemetry.interval", time.Second, duration(func(c *Config, v time.Duration) { c.Telemetry.Interval = v })},
		{"history.retention", journal.DefaultHistoryRetention, duration(func(c *Config, v time.Duration) { c.History.Retention = v })},
		{"security.hub_keys", "", str(func(c *Config, s string) { c.Security.HubKeys = s })},
		{"session.baseline_duration", controller.DefaultBaselineDuration, duration(func(c *Config, v time.Duration) { c.Session.BaselineDuration = v })},
		{"session.ending_duration", controller.DefaultEndingDuration, duration(func(c *Config, v time.Duration) { c.Session.EndingDuration = v })},
		{"session.consent_duration", controller.DefaultConsentDuration, duration(func(c *Config, v time.Duration) { c.Session.ConsentDuration = v })},
		{"safety.heart_rate_high_bpm", d.HeartRateHighBPM, float(func(c *Config, v float64) { c.Safety.HeartRateHighBPM = v })},
		{"safety.heart_rate_low_bpm", d.HeartRateLowBPM, float(func(c *Config, v float64) { c.Safety.HeartRateLowBPM = v })},
		{"safety.heart_rate_delay", d.HeartRateDelay, duration(func(c *Config, v time.Duration) { c.Safety.HeartRateDelay = v })},
		{"safety.spo2_low_pct", d.SpO2LowPct, float(func(c *Config, v float64) { c.Safety.SpO2LowPct = v })},
		{"safety.spo2_delay", d.SpO2Delay, duration(func(c *Config, v time.Duration) { c.Safety.SpO2Delay = v })},
		{"safety.spo2_critical_pct", d.SpO2CriticalPct, float(func(c *Config, v float64) { c.Safety.SpO2CriticalPct = v })},
		{"safety.spo2_critical_delay", d.SpO2CriticalDelay, duration(func(c *Config, v time.Duration) { c.Safety.SpO2CriticalDelay = v })},
		{"safety.stale_after", d.StaleAfter, duration(func(c *Config, v time.Duration) { c.Safety.StaleAfter = v })},
		{"safety.startup_grace", d.StartupGrace, duration(func(c *Config, v time.Duration) { c.Safety.StartupGrace = v })},
		{"safety.heart_rate_rise_bpm", d.HeartRateRiseBPM, float(func(c *Config, v float64) { c.Safety.HeartRateRiseBPM = v })},
		{"safety.temperature_low_c", d.TemperatureLowC, float(func(c *Config, v float64) { c.Safety.TemperatureLowC = v })},
		{"safety.temperature_high_c", d.TemperatureHighC, float(func(c *Config, v float64) { c.Safety.TemperatureHighC = v })},
		{"safety.temperature_delay", d.TemperatureDelay, duration(func(c *Config, v time.Duration) { c.Safety.TemperatureDelay = v })},
		{"safety.stress_scr_per_min", d.StressSCRPerMin, float(func(c *Config, v float64) { c.Safety.StressSCRPerMin = v })},
		{"safety.stress_delay", d.StressDelay, duration(func(c *Config, v time.Duration) { c.Safety.StressDelay = v })},
		{"safety.eeg_arousal_ratio", d.EEGArousalRatio, float(func(c *Config, v float64) { c.Safety.EEGArousalRatio = v })},
		{"safety.eeg_arousal_delay", d.EEGArousalDelay, duration(func(c *Config, v time.Duration) { c.Safety.EEGArousalDelay = v })},
		{"safety.stability_min", d.StabilityMin, float(func(c *Config, v float64) { c.Safety.StabilityMin = v })},
		{"safety.stability_delay", d.StabilityDelay, duration(func(c *Config, v time.Duration) { c.Safety.StabilityDelay = v })},
		{"safety.pipeline_stall_after", d.PipelineStallAfter, duration(func(c *Config, v time.Duration) { c.Safety.PipelineStallAfter = v })},
		{"watchdog.device", "", str(func(c *Config, s string) { c.Watchdog.Device = s })},
		{"watchdog.timeout", 10 * time.Second, duration(func(c *Config, v time.Duration) { c.Watchdog.Timeout = v })},
		{"log.level", "info", logLevel},
	}, append(sensorKeys(), outputKeys()...)...)
}

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
}

func logLevel(c *Config, raw any) error {
	s, ok := raw.(string)
	l, known := logLevels[s]
	if !ok || !known {
		return errors.New("is not one of debug, info, warn, error")
	}
	c.Log.Level = l
	return nil
}

// EnvName is the environment variable that overrides key.
func EnvName(key string) string {
	return "PODD_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Load reads the configuration file at path and applies the overrides in
// environ (os.Environ's format). An invalid configuration returns an error
// with one line per problem, as Parse's; each line about the file starts
// with path ("/etc/podd/pod.yaml: telemtry.interval: unknown key; did you
// mean telemetry.interval?"), a line about a PODD_ variable names the
// variable instead. A file that cannot be read is an error wrapping the
// system's (fs.ErrNotExist when it is missing).
func Load(path string, environ []string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("configs: %w", err)
	}
	c, err := parse(b, environ, path)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Parse reads a configuration from YAML and applies the overrides in
// environ. An invalid configuration returns an error with one line per
// problem; an unknown key or variable within a few edits of a known one
// is suggested (editDistance).
func Parse(data []byte, environ []string) (*Config, error) {
	return parse(data, environ, "")
}

// parse is Parse, each problem of the file prefixed with file when it is
// not empty.
func parse(data []byte, environ []string, file string) (*Config, error) {
	inFile := func(err error) error {
		if file == "" {
			return err
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	lay, err := readLayout(data)
	if err != nil {
		return nil, inFile(err)
	}
	v := viper.New()
	v.SetConfigType("yaml")
	ks := keys()
	for _, k := range ks {
		if k.def != nil {
			v.SetDefault(k.name, k.def)
		}
	}
	var problems []error
	for _, p := range lay.problems {
		problems = append(problems, inFile(p.err))
	}
	if err := lay.read(v, data); err != nil {
		return nil, errors.Join(append(problems, inFile(err))...)
	}

	// Problems are reported: the file's layout, unknown names, then in the
	// order of keys.
	byKey := map[string][]error{}
	known := map[string]bool{}
	fromEnv := map[string]string{} // key -> variable that set it
	byEnv := map[string]string{}   // variable -> key
	names := make([]string, 0, len(ks))
	for _, k := range ks {
		known[k.name] = true
		byEnv[EnvName(k.name)] = k.name
		names = append(names, k.name)
	}
	all := v.AllKeys()
	slices.Sort(all)
	for _, k := range all {
		if !known[k] && !lay.covers(k) && !lay.empty[k] && !underKey(k, known) {
			problems = append(problems, inFile(fmt.Errorf("%s: unknown key%s", shown(k), didYouMean(k, names))))
		}
	}
	seen := map[string]bool{}
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "PODD_") || seen[name] {
			continue
		}
		seen[name] = true // the first occurrence wins, as in os.Getenv
		k, ok := byEnv[name]
		if !ok {
			problems = append(problems, fmt.Errorf("%s: no configuration key has this environment variable%s", shown(name), didYouMean(name, envNames(names))))
			continue
		}
		v.Set(k, val)
		fromEnv[k] = name
	}

	c := &Config{}
	reported := map[string]bool{} // keys whose value was not read
	for _, k := range ks {
		if fromEnv[k.name] == "" && lay.covers(k.name) {
			reported[k.name] = true
			continue
		}
		raw := v.Get(k.name)
		if raw == nil {
			raw = k.def // an explicit null in the file means the default
		}
		if raw == nil {
			raw = ""
		}
		if err := k.set(c, raw); err != nil {
			reported[k.name] = true
			p := fmt.Errorf("%s: %s %v%s", k.name, quote(raw), err, source(fromEnv[k.name]))
			if fromEnv[k.name] == "" {
				p = inFile(p)
			}
			byKey[k.name] = append(byKey[k.name], p)
		}
	}
	if c.Uplink.ClientID == "" {
		c.Uplink.ClientID = "podd-" + c.Pod.ID
	}
	if !reported["lights.zones"] {
		c.defaultZones()
	}
	// A problem between keys is not reported when one of them has a problem
	// of its own: it would be about a value already refused.
	ps := c.problems()
	wrong := maps.Clone(reported)
	for _, p := range ps {
		if len(p.with) == 0 {
			wrong[p.key] = true
		}
	}
	for _, p := range ps {
		if reported[p.key] || len(p.with) > 0 && (wrong[p.key] || slices.ContainsFunc(p.with, func(k string) bool { return wrong[k] })) {
			continue
		}
		e := fmt.Errorf("%s%s", p.err, source(fromEnv[p.key]))
		if fromEnv[p.key] == "" {
			e = inFile(e)
		}
		byKey[p.key] = append(byKey[p.key], e)
	}
	for _, k := range ks {
		problems = append(problems, byKey[k.name]...)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return c, nil
}

// underKey reports whether k is under a key that takes a single value
// (safety.heart_rate_high_bpm.a): that key's own problem line covers it.
func underKey(k string, known map[string]bool) bool {
	return slices.ContainsFunc(ancestors(k), func(a string) bool { return known[a] })
}

// readConfig reads YAML into v, turning a panic of the YAML-to-map
// conversion on input it cannot represent into an error.
func readConfig(v *viper.Viper, data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("configs: YAML: %s", oneLine(fmt.Sprint(r)))
		}
	}()
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("configs: YAML: %s", oneLine(err.Error()))
	}
	return nil
}

// shown is a name from the file or the environment as a problem line shows
// it: quoted when it is empty or holds what would break the line or hide in
// it (a newline, a control character, invalid UTF-8).
func shown(name string) string {
	if name == "" || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return !strconv.IsPrint(r) }) {
		return strconv.Quote(name)
	}
	return name
}

func source(env string) string {
	if env == "" {
		return ""
	}
	return " (from " + env + ")"
}

// quote formats a raw value for a problem line: strings quoted, lists and
// maps in YAML's flow style, like the YAML they came from.
func quote(raw any) string {
	switch r := raw.(type) {
	case string:
		return strconv.Quote(r)
	case time.Duration:
		return strconv.Quote(r.String())
	case []any:
		vs := make([]string, len(r))
		for i, v := range r {
			vs[i] = quote(v)
		}
		return "[" + strings.Join(vs, ", ") + "]"
	case map[string]any:
		vs := make([]string, 0, len(r))
		for _, k := range slices.Sorted(maps.Keys(r)) {
			vs = append(vs, shown(k)+": "+quote(r[k]))
		}
		return "{" + strings.Join(vs, ", ") + "}"
	}
	return fmt.Sprint(raw)
}

// lineNumber is a GPIO line name as periph's gpioreg takes it, with its
// spellings of one line folded: "GPIO17", "gpio17" and "17" are line 17.
// Header-pin aliases (P1_11) are board-specific: podd compares the lines
// they resolve to when it opens them.
func lineNumber(name string) string {
	if len(name) > 4 && strings.EqualFold(name[:4], "GPIO") {
		name = name[4:]
	}
	return strings.ToUpper(name)
}

// boolean reads a bool: YAML true/false, or "true"/"false" (and the other
// spellings strconv.ParseBool takes) from the environment.
func boolean(store func(*Config, bool)) func(*Config, any) error {
	return func(c *Config, raw any) error {
		switch r := raw.(type) {
		case bool:
			store(c, r)
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(r))
			if err != nil {
				return errors.New("is not true or false")
			}
			store(c, b)
		default:
			return errors.New("is not true or false")
		}
		return nil
	}
}

func str(store func(*Config, string)) func(*Config, any) error {
	return func(c *Config, raw any) error {
		switch r := raw.(type) {
		case string:
			store(c, r)
		case int, int64, uint64, float64, bool:
			store(c, fmt.Sprint(r)) // i2c_bus: 1 is the bus "1"
		default:
			return errors.New("is not a string")
		}
		return nil
	}
}

// integer reads an int. An integer too large for an int (on 32-bit boards,
// one above 2147483647) is reported against min..max, the range the key's
// check would report.
func integer(minimum, maximum int, store func(*Config, int)) func(*Config, any) error {
	outside := fmt.Errorf("is outside %d..%d", minimum, maximum)
	notInteger := errors.New("is not an integer")
	return func(c *Config, raw any) error {
		switch r := raw.(type) {
		case int:
			store(c, r)
		case int64:
			if r != int64(int(r)) {
				return outside
			}
			store(c, int(r))
		case uint64:
			if r > math.MaxInt {
				return outside
			}
			store(c, int(r))
		case float64:
			// YAML reads an integer beyond 64 bits as a float, and 1e3 is one.
			switch {
			case math.IsNaN(r) || math.IsInf(r, 0) || r != math.Trunc(r):
				return notInteger
			case r < math.MinInt || r >= math.MaxInt:
				return outside
			}
			store(c, int(r))
		case string:
			n, err := strconv.Atoi(strings.TrimSpace(r))
			if errors.Is(err, strconv.ErrRange) {
				return outside
			}
			if err != nil {
				return notInteger
			}
			store(c, n)
		default:
			return notInteger
		}
		return nil
	}
}

// sizeUnits are the units a size may be written with.
var sizeUnits = map[string]int64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}

// sizePattern is a size as a string: an integer of bytes, or of a unit.
var sizePattern = regexp.MustCompile(`^([0-9]+) ?(B|KiB|MiB|GiB)?$`)

// size reads a number of bytes: an integer, or a string of an integer
// and one of the units B, KiB, MiB, GiB ("96MiB", "96 MiB"). A size too
// large for an int64 is reported against the key's range, as being
// outside it; the range itself is checked with the others.
func size(store func(*Config, int64)) func(*Config, any) error {
	notSize := errors.New(`is not a size: an integer of bytes, or one with a unit, B, KiB, MiB or GiB (e.g. "96MiB")`)
	outside := fmt.Errorf("is outside 64KiB..1GiB (%d..%d bytes)", MinOutboxBytes, MaxOutboxBytes)
	return func(c *Config, raw any) error {
		switch r := raw.(type) {
		case int:
			store(c, int64(r))
		case int64:
			store(c, r)
		case uint64:
			if r > math.MaxInt64 {
				return outside
			}
			store(c, int64(r))
		case float64:
			switch {
			case math.IsNaN(r) || math.IsInf(r, 0) || r != math.Trunc(r):
				return notSize
			case r < math.MinInt64 || r >= math.MaxInt64:
				return outside
			}
			store(c, int64(r))
		case string:
			m := sizePattern.FindStringSubmatch(strings.TrimSpace(r))
			if m == nil {
				return notSize
			}
			n, err := strconv.ParseInt(m[1], 10, 64)
			unit := sizeUnits[m[2]]
			if err != nil || n > math.MaxInt64/unit {
				return outside
			}
			store(c, n*unit)
		default:
			return notSize
		}
		return nil
	}
}

func float(store func(*Config, float64)) func(*Config, any) error {
	return func(c *Config, raw any) error {
		var f float64
		switch r := raw.(type) {
		case int:
			f = float64(r)
		case int64:
			f = float64(r)
		case uint64:
			f = float64(r)
		case float64:
			f = r
		case string:
			var err error
			f, err = strconv.ParseFloat(strings.TrimSpace(r), 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return errors.New("is not a number")
			}
		default:
			return errors.New("is not a number")
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return errors.New("is not a finite number")
		}
		store(c, f)
		return nil
	}
}

func duration(store func(*Config, time.Duration)) func(*Config, any) error {
	return func(c *Config, raw any) error {
		switch r := raw.(type) {
		case time.Duration:
			store(c, r)
		case string:
			d, err := time.ParseDuration(strings.TrimSpace(r))
			if err != nil {
				return errors.New(`is not a duration (Go syntax with a unit, e.g. "1s", "500ms")`)
			}
			store(c, d)
		default:
			return errors.New(`is not a duration (Go syntax with a unit, e.g. "1s", "500ms")`)
		}
		return nil
	}
}

// problem is one invalid value, with the key it belongs to.
type problem struct {
	key  string
	err  error
	with []string // the other keys it is about, when it is about several
}

// safetyKeys are the keys of package safety's limits. A problem package
// safety reports names its key first, then any other it compares it with.
func safetyKeys() []string {
	var ks []string
	for _, k := range keys() {
		if strings.HasPrefix(k.name, "safety.") {
			ks = append(ks, k.name)
		}
	}
	return ks
}

var podID = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// Validate reports every invalid value of c, one line per problem.
func (c *Config) Validate() error {
	var errs []error
	for _, p := range c.problems() {
		errs = append(errs, p.err)
	}
	return errors.Join(errs...)
}

func (c *Config) problems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{key: key, err: fmt.Errorf(key+": "+format, args...)})
	}
	addWith := func(with []string, key, format string, args ...any) {
		add(key, format, args...)
		ps[len(ps)-1].with = with
	}
	if !podID.MatchString(c.Pod.ID) {
		add("pod.id", "%q is not 1 to 32 characters of a-z, 0-9 and -", c.Pod.ID)
	}
	if c.Hardware.Mode != ModeSim && c.Hardware.Mode != ModeLinux {
		add("hardware.mode", "%q is not sim or linux", c.Hardware.Mode)
	}
	if c.Hardware.I2CBus == "" {
		add("hardware.i2c_bus", `"" is not an I2C bus name (e.g. "1")`)
	}
	if c.Hardware.SPIPort == "" {
		add("hardware.spi_port", `"" is not an SPI port name (e.g. "SPI0.0")`)
	}
	if n := c.Hardware.LEDCount; n < MinLEDCount || n > MaxLEDCount {
		add("hardware.led_count", "%d is outside %d..%d", n, MinLEDCount, MaxLEDCount)
	}
	for _, p := range checkUplink(c.Uplink) {
		add(p.key, "%s", p.err)
	}
	if err := checkEmbeddedListen(c.Uplink.EmbeddedListen); err != nil {
		add("uplink.embedded_listen", "%q %v", c.Uplink.EmbeddedListen, err)
	}
	if c.Uplink.ClientID == "" {
		add("uplink.client_id", `"" is empty`)
	}
	if c.Storage.Path == "" {
		add("storage.path", `"" is required: the path of the bbolt file`)
	}
	if n := c.Storage.MaxOutboxRecords; n < MinOutboxRecords || n > MaxOutboxRecords {
		add("storage.max_outbox_records", "%d is outside %d..%d", n, MinOutboxRecords, MaxOutboxRecords)
	}
	if n := c.Storage.MaxOutboxBytes; n < MinOutboxBytes || n > MaxOutboxBytes {
		add("storage.max_outbox_bytes", "%d is outside 64KiB..1GiB (%d..%d bytes)", n, MinOutboxBytes, MaxOutboxBytes)
	}
	if n := c.Storage.MaxAuditEntries; n < MinAuditEntries || n > MaxAuditEntries {
		add("storage.max_audit_entries", "%d is outside %d..%d", n, MinAuditEntries, MaxAuditEntries)
	}
	switch s := c.API.Socket; {
	case s == "":
		add("api.socket", `"" is required: the path of the Unix socket`)
	case len(s) > maxSocketPath:
		add("api.socket", "%q is longer than the %d bytes a Unix socket path may have", s, maxSocketPath)
	}
	if a := c.API.MetricsListen; a != "" {
		if err := checkLoopback(a); err != nil {
			add("api.metrics_listen", "%q %v", a, err)
		} else if e := c.Uplink.EmbeddedListen; c.Uplink.Embedded() && checkEmbeddedListen(e) == nil && portOf(a) == portOf(e) {
			addWith([]string{"uplink.broker", "uplink.embedded_listen"}, "api.metrics_listen", "%q is on the port of the embedded broker (uplink.embedded_listen %q): use another port", a, e)
		}
	}
	if c.API.StatusPage && c.API.MetricsListen == "" {
		addWith([]string{"api.metrics_listen"}, "api.status_page", "true needs api.metrics_listen: the page is served on the metrics listener (e.g. 127.0.0.1:9464)")
	}
	if c.Hardware.Mode == ModeSim && c.Sim.Scenario == "" {
		addWith([]string{"hardware.mode"}, "sim.scenario", `"" is required when hardware.mode is sim: the path of a scenario YAML`)
	}
	if d := c.Telemetry.Interval; d < MinTelemetryInterval || d > MaxTelemetryInterval {
		add("telemetry.interval", "%q is outside 100ms..60s", d.String())
	}
	if d := c.History.Retention; d < journal.MinHistoryRetention || d > journal.MaxHistoryRetention {
		add("history.retention", "%q is outside 1h..2160h (90 days)", d.String())
	}
	for _, b := range []struct {
		key      string
		d        time.Duration
		min, max time.Duration
	}{
		{"session.baseline_duration", c.Session.BaselineDuration, controller.MinBaselineDuration, controller.MaxBaselineDuration},
		{"session.ending_duration", c.Session.EndingDuration, controller.MinEndingDuration, controller.MaxEndingDuration},
		{"session.consent_duration", c.Session.ConsentDuration, controller.MinConsentDuration, controller.MaxConsentDuration},
		{"hardware.ack_hold", c.Hardware.AckHold, controller.MinAckHold, controller.MaxAckHold},
		{"uplink.receipt_timeout", c.Uplink.ReceiptTimeout, MinReceiptTimeout, MaxReceiptTimeout},
	} {
		if b.d < b.min || b.d > b.max {
			add(b.key, "%q is outside %v..%v", b.d.String(), b.min, b.max)
		}
	}
	if f := c.Security.HubKeys; f != "" {
		if _, err := hubcmd.LoadKeySet(f); err != nil {
			add("security.hub_keys", "%q cannot be used: %v", f, err)
		}
	}
	if b := c.Hardware.ConsentButton; b != "" && lineNumber(b) == lineNumber(c.Hardware.PanicButton) {
		addWith([]string{"hardware.consent_button"}, "hardware.panic_button", "%q is also the consent button: each button needs its own line", b)
	}
	for _, other := range []struct{ key, line string }{{"hardware.consent_button", c.Hardware.ConsentButton}, {"hardware.panic_button", c.Hardware.PanicButton}} {
		if b := c.Hardware.AckButton; b != "" && lineNumber(b) == lineNumber(other.line) {
			addWith([]string{other.key}, "hardware.ack_button", "%q is also %s: each button needs its own line", b, other.key)
		}
	}
	for _, err := range c.Safety.Problems() {
		k, msg, _ := strings.Cut(err.Error(), ":")
		p := problem{key: k, err: err}
		for _, other := range safetyKeys() {
			if other != k && strings.Contains(msg, other) {
				p.with = append(p.with, other)
			}
		}
		ps = append(ps, p)
	}
	if c.Watchdog.Device != "" {
		if d := c.Watchdog.Timeout; d < safety.MinHardwareTimeout || d > safety.MaxHardwareTimeout || d%time.Second != 0 {
			addWith([]string{"watchdog.device"}, "watchdog.timeout", "%q is not a whole number of seconds in %v..%v", d.String(), safety.MinHardwareTimeout, safety.MaxHardwareTimeout)
		}
	}
	c.sensorProblems(add, addWith)
	c.outputProblems(add, addWith)
	switch c.Log.Level {
	case slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError:
	default:
		add("log.level", "%q is not one of debug, info, warn, error", strings.ToLower(c.Log.Level.String()))
	}
	return ps
}

// Broker URL schemes uplink.New accepts: MQTT over plain TCP and over TLS.
var (
	plainSchemes  = []string{"tcp", "mqtt"}
	tlsSchemes    = []string{"ssl", "tls", "mqtts"}
	brokerSchemes = append(slices.Clone(plainSchemes), tlsSchemes...)
)

// brokerList reads uplink.broker: a string (comma-separated for several)
// or a YAML list of strings.
func brokerList(c *Config, raw any) error {
	var list []string
	switch r := raw.(type) {
	case string:
		list = strings.Split(r, ",")
	case []any:
		for _, x := range r {
			b, ok := x.(string)
			if !ok {
				return errors.New("is not a broker URL or a list of them")
			}
			list = append(list, b)
		}
		if len(list) == 0 {
			return errors.New("is an empty list")
		}
	default:
		return errors.New("is not a broker URL or a list of them")
	}
	c.Uplink.Brokers, c.Uplink.Broker = list, list[0]
	return nil
}

type uplinkProblem struct {
	key string
	err error
}

// checkUplink checks the brokers, their transport and credentials as
// uplink.New will, and that the TLS and password files can be read.
func checkUplink(u UplinkConfig) []uplinkProblem {
	var ps []uplinkProblem
	add := func(key, format string, args ...any) {
		ps = append(ps, uplinkProblem{key, fmt.Errorf(format, args...)})
	}
	if len(u.Brokers) == 0 {
		u.Brokers = []string{u.Broker}
	}
	seen := map[string]bool{}
	for _, b := range u.Brokers {
		if err := checkBroker(b); err != nil {
			add("uplink.broker", "%q %v", b, err)
		} else if b == Embedded && len(u.Brokers) > 1 {
			add("uplink.broker", "%q is only allowed alone", b)
		} else if seen[b] {
			add("uplink.broker", "%q is listed twice", b)
		}
		seen[b] = true
	}
	if len(ps) > 0 {
		return ps
	}
	tlsBrokers := u.TLSBrokers()
	if tlsBrokers {
		for _, b := range u.Brokers {
			if s, _, _ := strings.Cut(b, "://"); slices.Contains(plainSchemes, s) {
				add("uplink.broker", "%q is plain TCP in a list of TLS brokers: use TLS for all (the vitals must not fall back to the clear)", b)
			}
		}
	}
	// The first TLS key set names the problems of them all.
	tlsKey := ""
	for _, k := range []struct{ name, v string }{
		{"uplink.tls.ca", u.TLS.CA}, {"uplink.tls.cert", u.TLS.Cert}, {"uplink.tls.key", u.TLS.Key}, {"uplink.tls.server_name", u.TLS.ServerName},
	} {
		if k.v != "" && tlsKey == "" {
			tlsKey = k.name
		}
	}
	switch {
	case tlsKey != "" && !tlsBrokers:
		add(tlsKey, "is set but no broker uses TLS: use ssl://host:port")
	case tlsBrokers:
		if _, err := u.ClientTLS(); err != nil {
			add(cmp.Or(tlsKey, "uplink.tls.ca"), "%v", err)
		}
	}
	if u.PasswordFile != "" {
		if u.Username == "" {
			add("uplink.password_file", "%q is set without uplink.username", u.PasswordFile)
		}
		if _, err := u.Password(); err != nil {
			add("uplink.password_file", "%q cannot be used: %v", u.PasswordFile, err)
		}
	}
	return ps
}

// checkBroker accepts Embedded or scheme://host:port and nothing more: no
// user information, path, query or fragment, not even an empty one.
func checkBroker(b string) error {
	const want = `is not "embedded" or a broker URL tcp://host:port or mqtt://host:port (or ssl://, tls://, mqtts:// for TLS), with a host name or IP address and a port in 1..65535`
	if b == Embedded {
		return nil
	}
	u, err := url.Parse(b)
	if err != nil || !slices.Contains(brokerSchemes, u.Scheme) || b != u.Scheme+"://"+u.Host {
		return errors.New(want)
	}
	host, ok := splitHostPort(u.Host, 1)
	if !ok || (net.ParseIP(host) == nil && !hostName(host)) {
		return errors.New(want)
	}
	return nil
}

// splitHostPort returns the host of hp if hp is a non-empty host and a
// decimal port in minPort..65535, written as net.JoinHostPort writes them:
// IPv6 in brackets, anything else without, no sign or leading zero.
func splitHostPort(hp string, minPort int) (host string, ok bool) {
	host, port, err := net.SplitHostPort(hp)
	if err != nil || host == "" || net.JoinHostPort(host, port) != hp {
		return "", false
	}
	p, err := strconv.Atoi(port)
	if err != nil || strconv.Itoa(p) != port || p < minPort || p > 65535 {
		return "", false
	}
	return host, true
}

// portOf is the port of an address splitHostPort accepted.
func portOf(hp string) string {
	_, p, _ := net.SplitHostPort(hp)
	return p
}

// hostName reports whether s is a host name (RFC 1123): dot-separated
// labels of letters, digits and inner hyphens, the last not all digits so
// that a mistyped IPv4 address is not taken for a name.
func hostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if len(l) < 1 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

var errListenPort = fmt.Errorf("is not host:port with a port in %d..65535", MinListenPort)

// checkLoopback accepts host:port on a loopback IP address or localhost
// only: the metrics are for the pod's own host. Any other host name is
// refused: net.Listen would look it up when podd starts, and fail there if
// it does not resolve to an address of the machine.
func checkLoopback(hp string) error {
	host, ok := splitHostPort(hp, MinListenPort)
	if !ok {
		return errListenPort
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("is not a loopback address (127.0.0.1, [::1] or localhost)")
	}
	return nil
}

// checkEmbeddedListen accepts host:port on a loopback IP address or
// localhost only, as checkLoopback. The embedded broker (mochi) is run
// without authentication or TLS: on any other address, anyone on the
// network could read the sleeper's vitals and publish to the pod's topics
// (a merge/abort needs no signature). A broker for other machines is a
// real one with authentication (mosquitto), named by uplink.broker.
func checkEmbeddedListen(hp string) error {
	host, ok := splitHostPort(hp, MinListenPort)
	if !ok {
		return errListenPort
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errEmbeddedNotLoopback
	}
	return nil
}

var errEmbeddedNotLoopback = errors.New("is not a loopback address (127.0.0.1, [::1] or localhost): the embedded broker has no authentication, so anyone on the network could read the sleeper's vitals and publish to the pod; " +
	"listen on 127.0.0.1, or run a broker with authentication (mosquitto) and set uplink.broker to it")
