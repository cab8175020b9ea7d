package configs

import (
	"encoding/json"
	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/internal/mqtttest"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/uplink"
)

func TestShippedFilesLoad(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Config
	}{
		{"sim.yaml", Config{
			Pod:       PodConfig{ID: "sim-pod-1"},
			Hardware:  HardwareConfig{Mode: ModeSim, I2CBus: "1", SPIPort: "SPI0.0", LEDCount: 60, AckHold: 3 * time.Second, IndicatorLED: "GPIO12", ButtonsActiveLow: true},
			Sensors:   allSensors(),
			Uplink:    UplinkConfig{Brokers: []string{"embedded"}, Broker: "embedded", EmbeddedListen: "127.0.0.1:1883", ClientID: "podd-sim-pod-1", ReceiptTimeout: 30 * time.Second},
			Storage:   StorageConfig{Path: "./var/podd.db", MaxOutboxRecords: journal.DefaultMaxOutbox, MaxOutboxBytes: journal.DefaultMaxOutboxBytes, MaxAuditEntries: journal.DefaultMaxAuditEntries},
			API:       APIConfig{Socket: "./var/podd.sock"},
			Sim:       SimConfig{Scenario: "sim/scenarios/calm.yaml"},
			Telemetry: TelemetryConfig{Interval: time.Second},
			History:   HistoryConfig{Retention: journal.DefaultHistoryRetention},
			Session:   SessionConfig{BaselineDuration: time.Minute, EndingDuration: time.Minute, ConsentDuration: 12 * time.Hour},
			Safety:    safety.DefaultLimits(),
			Lights:    shippedLights(), Haptics: shippedHaptics(), Dreamscape: DreamscapeConfig{Program: "dreamscapes/calm-night.yaml", RateHz: 50},
			Watchdog: WatchdogConfig{Timeout: 10 * time.Second},
			Log:      LogConfig{Level: slog.LevelInfo},
		}},
		{"pod.yaml", Config{
			Pod:       PodConfig{ID: "pod-0001"},
			Hardware:  HardwareConfig{Mode: ModeLinux, I2CBus: "1", SPIPort: "SPI0.0", LEDCount: 60, ConsentButton: "GPIO17", PanicButton: "GPIO27", AckButton: "GPIO22", AckHold: 3 * time.Second, IndicatorLED: "GPIO12", ButtonsActiveLow: true},
			Sensors:   allSensors(),
			Uplink:    UplinkConfig{Brokers: []string{"tcp://hub.local:1883"}, Broker: "tcp://hub.local:1883", EmbeddedListen: "127.0.0.1:1883", ClientID: "podd-pod-0001", ReceiptTimeout: 30 * time.Second},
			Storage:   StorageConfig{Path: "/var/lib/podd/podd.db", MaxOutboxRecords: journal.DefaultMaxOutbox, MaxOutboxBytes: journal.DefaultMaxOutboxBytes, MaxAuditEntries: journal.DefaultMaxAuditEntries},
			API:       APIConfig{Socket: "/run/podd/podd.sock", MetricsListen: "127.0.0.1:9464"},
			Telemetry: TelemetryConfig{Interval: time.Second},
			History:   HistoryConfig{Retention: journal.DefaultHistoryRetention},
			Session:   SessionConfig{BaselineDuration: time.Minute, EndingDuration: time.Minute, ConsentDuration: 12 * time.Hour},
			Safety:    safety.DefaultLimits(),
			Lights:    shippedLights(), Haptics: shippedHaptics(), Dreamscape: DreamscapeConfig{Program: "/usr/share/podd/dreamscapes/calm-night.yaml", RateHz: 50},
			Watchdog: WatchdogConfig{Device: "/dev/watchdog", Timeout: 10 * time.Second},
			Log:      LogConfig{Level: slog.LevelInfo},
		}},
	} {
		c, err := Load(tc.file, nil)
		if err != nil {
			t.Errorf("Load(%s): %v", tc.file, err)
			continue
		}
		if !reflect.DeepEqual(*c, tc.want) {
			t.Errorf("Load(%s) =\n%+v\nwant\n%+v", tc.file, *c, tc.want)
		}
	}
}

func TestLoadReportsAMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := Load(path, nil)
	if want := "configs: open " + path + ": no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("Load = %v; want %q", err, want)
	}
}

// minimal holds only the keys without a default.
const minimal = `
pod:
  id: pod-7
hardware:
  mode: linux
uplink:
  broker: tcp://hub.local:1883
storage:
  path: /var/lib/podd/podd.db
api:
  socket: /run/podd/podd.sock
`

func minimalConfig() Config {
	return Config{
		Pod:       PodConfig{ID: "pod-7"},
		Hardware:  HardwareConfig{Mode: ModeLinux, I2CBus: "1", SPIPort: "SPI0.0", LEDCount: 60, AckHold: 3 * time.Second, ButtonsActiveLow: true},
		Sensors:   defaultSensors(),
		Uplink:    UplinkConfig{Brokers: []string{"tcp://hub.local:1883"}, Broker: "tcp://hub.local:1883", EmbeddedListen: "127.0.0.1:1883", ClientID: "podd-pod-7", ReceiptTimeout: 30 * time.Second},
		Storage:   StorageConfig{Path: "/var/lib/podd/podd.db", MaxOutboxRecords: journal.DefaultMaxOutbox, MaxOutboxBytes: journal.DefaultMaxOutboxBytes, MaxAuditEntries: journal.DefaultMaxAuditEntries},
		API:       APIConfig{Socket: "/run/podd/podd.sock"},
		Telemetry: TelemetryConfig{Interval: time.Second},
		History:   HistoryConfig{Retention: journal.DefaultHistoryRetention},
		Session:   SessionConfig{BaselineDuration: time.Minute, EndingDuration: time.Minute, ConsentDuration: 12 * time.Hour},
		Safety:    safety.DefaultLimits(),
		Lights:    defaultLights(60), Haptics: defaultHaptics(), Dreamscape: DreamscapeConfig{RateHz: 50},
		Watchdog: WatchdogConfig{Timeout: 10 * time.Second},
		Log:      LogConfig{Level: slog.LevelInfo},
	}
}

// defaultLights is the light of a file that names no zone: one zone,
// canopy, the whole strip of leds LEDs.
func defaultLights(leds int) LightsConfig {
	return LightsConfig{
		Zones:     []ZoneConfig{{Name: "canopy", First: 0, Count: leds}},
		SafeColor: "#ff8a3d", SafeLevel: 0.04, WakeLevel: 0.3, WakeRamp: 10 * time.Minute, MaxSlew: 0.5,
		PCA9685: PCA9685Config{Address: 0x40, FrequencyHz: 1526},
	}
}

// shippedLights are the shipped files' zones: the strip in two, an RGB
// fixture on the PCA9685 with its OE line.
func shippedLights() LightsConfig {
	l := defaultLights(60)
	l.Zones = []ZoneConfig{{Name: "canopy", First: 0, Count: 40}, {Name: "floor", PWM: []int{0, 1, 2}}, {Name: "sides", First: 40, Count: 20}}
	l.PCA9685 = PCA9685Config{Enabled: true, Address: 0x40, FrequencyHz: 1526, OE: "GPIO6"}
	return l
}

// shippedHaptics are the shipped files' places: the DRV2605L at the back
// with its EN line, a motor on GPIO5 at the feet.
func shippedHaptics() HapticsConfig {
	h := defaultHaptics()
	h.Places = []PlaceConfig{{Name: "back", Driver: "drv2605"}, {Name: "feet", Driver: "gpio", Line: "GPIO5"}}
	h.DRV2605.EN = "GPIO13"
	return h
}

// defaultHaptics is the haptics of a file that names no place: none.
func defaultHaptics() HapticsConfig {
	return HapticsConfig{
		DRV2605:      DRV2605Config{Actuator: "erm"},
		MaxIntensity: 0.6, DutyBudget: 0.2, DutyWindow: time.Minute,
	}
}

// defaultSensors is the inventory of a file that names no sensor: the
// pulse oximeter alone.
func defaultSensors() SensorsConfig {
	return SensorsConfig{
		MAX30102: MAX30102Config{Enabled: true},
		ADS1299:  ADS1299Config{SPIPort: "SPI1.0", DRDY: "GPIO25", RateHz: 250, Gain: 24, Channels: 8},
		ADS1115:  ADS1115Config{Address: 0x49, RateHz: 4, SupplyV: 3.3, RefOhms: 200000},
		TMP117:   TMP117Config{Address: 0x48, RateHz: 1},
	}
}

// allSensors is the shipped files' inventory: every sensor, at the
// default wiring.
func allSensors() SensorsConfig {
	s := defaultSensors()
	s.ADS1299.Enabled, s.ADS1115.Enabled, s.TMP117.Enabled = true, true, true
	return s
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*c, minimalConfig()) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", *c, minimalConfig())
	}
}

func TestEnvironmentOverridesEveryKey(t *testing.T) {
	ca := mqtttest.NewCA(t, "hub CA")
	client := ca.Client(t, "pod-8")
	hubKey, err := hubclient.GenerateKey("hub-1")
	if err != nil {
		t.Fatal(err)
	}
	keyDir := t.TempDir()
	hubKeys := filepath.Join(keyDir, "hub-keys.json")
	if err := hubclient.WriteKeyFiles(hubKey, filepath.Join(keyDir, "hub-private.json"), hubKeys); err != nil {
		t.Fatal(err)
	}
	password := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(password, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := []string{
		"HOME=/root", // not ours
		"PODD_POD_ID=pod-8",
		"PODD_HARDWARE_MODE=sim",
		"PODD_HARDWARE_I2C_BUS=3",
		"PODD_HARDWARE_SPI_PORT=SPI1.2",
		"PODD_HARDWARE_LED_COUNT=150",
		"PODD_HARDWARE_CONSENT_BUTTON=GPIO17",
		"PODD_HARDWARE_ACK_BUTTON=GPIO23",
		"PODD_HARDWARE_ACK_HOLD=5s",
		"PODD_HARDWARE_INDICATOR_LED=GPIO12",
		"PODD_HARDWARE_PANIC_BUTTON=GPIO27",
		"PODD_HARDWARE_BUTTONS_ACTIVE_LOW=false",
		"PODD_HARDWARE_OXIMETER_LEDS_SWAPPED=true",
		"PODD_UPLINK_BROKER=ssl://hub.example:8883,mqtts://hub2.example:8884",
		"PODD_UPLINK_TLS_CA=" + ca.CertFile,
		"PODD_UPLINK_TLS_CERT=" + client.CertFile,
		"PODD_UPLINK_TLS_KEY=" + client.KeyFile,
		"PODD_UPLINK_TLS_SERVER_NAME=hub.example",
		"PODD_UPLINK_USERNAME=pod-8",
		"PODD_UPLINK_PASSWORD_FILE=" + password,
		"PODD_UPLINK_EMBEDDED_LISTEN=127.0.0.2:1884",
		"PODD_UPLINK_CLIENT_ID=bench-7",
		"PODD_UPLINK_REQUIRE_HUB=true",
		"PODD_UPLINK_RECEIPT_TIMEOUT=45s",
		"PODD_STORAGE_PATH=/tmp/p.db",
		"PODD_STORAGE_MAX_OUTBOX_RECORDS=5000",
		"PODD_STORAGE_MAX_OUTBOX_BYTES=64MiB",
		"PODD_STORAGE_MAX_AUDIT_ENTRIES=500",
		"PODD_API_SOCKET=/tmp/p.sock",
		"PODD_API_METRICS_LISTEN=127.0.0.1:9464",
		"PODD_API_STATUS_PAGE=true",
		"PODD_API_EXPOSE_VITALS=true",
		"PODD_SIM_SCENARIO=sim/scenarios/desat.yaml",
		"PODD_TELEMETRY_INTERVAL=250ms",
		"PODD_HISTORY_RETENTION=72h",
		"PODD_SECURITY_HUB_KEYS=" + hubKeys,
		"PODD_SESSION_BASELINE_DURATION=2m",
		"PODD_SESSION_ENDING_DURATION=30s",
		"PODD_SESSION_CONSENT_DURATION=8h",
		"PODD_SAFETY_HEART_RATE_HIGH_BPM=120.5",
		"PODD_SAFETY_HEART_RATE_LOW_BPM=45",
		"PODD_SAFETY_HEART_RATE_DELAY=5s",
		"PODD_SAFETY_SPO2_LOW_PCT=92",
		"PODD_SAFETY_SPO2_DELAY=8s",
		"PODD_SAFETY_SPO2_CRITICAL_PCT=86",
		"PODD_SAFETY_SPO2_CRITICAL_DELAY=1500ms",
		"PODD_SAFETY_STALE_AFTER=3s",
		"PODD_SAFETY_STARTUP_GRACE=1m",
		"PODD_SAFETY_HEART_RATE_RISE_BPM=30",
		"PODD_SAFETY_TEMPERATURE_LOW_C=35.5",
		"PODD_SAFETY_TEMPERATURE_HIGH_C=38",
		"PODD_SAFETY_TEMPERATURE_DELAY=30s",
		"PODD_SAFETY_STRESS_SCR_PER_MIN=10",
		"PODD_SAFETY_STRESS_DELAY=90s",
		"PODD_SAFETY_EEG_AROUSAL_RATIO=2.5",
		"PODD_SAFETY_EEG_AROUSAL_DELAY=20s",
		"PODD_SAFETY_STABILITY_MIN=0.35",
		"PODD_SAFETY_STABILITY_DELAY=8s",
		"PODD_SAFETY_PIPELINE_STALL_AFTER=700ms",
		"PODD_WATCHDOG_DEVICE=/dev/watchdog1",
		"PODD_WATCHDOG_TIMEOUT=5s",
		"PODD_LOG_LEVEL=warn",
		"PODD_SENSORS_MAX30102_ENABLED=true",
		"PODD_SENSORS_MAX30102_I2C_BUS=4",
		"PODD_SENSORS_ADS1299_ENABLED=true",
		"PODD_SENSORS_ADS1299_SPI_PORT=SPI2.0",
		"PODD_SENSORS_ADS1299_DRDY=GPIO22",
		"PODD_SENSORS_ADS1299_RATE_HZ=500",
		"PODD_SENSORS_ADS1299_GAIN=12",
		"PODD_SENSORS_ADS1299_CHANNELS=4",
		"PODD_SENSORS_ADS1115_ENABLED=true",
		"PODD_SENSORS_ADS1115_I2C_BUS=5",
		"PODD_SENSORS_ADS1115_ADDRESS=0x4A",
		"PODD_SENSORS_ADS1115_CHANNEL=2",
		"PODD_SENSORS_ADS1115_RATE_HZ=10",
		"PODD_SENSORS_ADS1115_SUPPLY_V=5",
		"PODD_SENSORS_ADS1115_REF_OHMS=470000",
		"PODD_SENSORS_TMP117_ENABLED=true",
		"PODD_SENSORS_TMP117_I2C_BUS=5",
		"PODD_SENSORS_TMP117_ADDRESS=0x4b",
		"PODD_SENSORS_TMP117_RATE_HZ=2",
		"PODD_SENSORS_TMP117_CORE_OFFSET_C=3.5",
		"PODD_LIGHTS_ZONES={canopy: {leds: 0-99}, floor: {leds: 100-149}, reading: {pwm: [3]}}",
		"PODD_LIGHTS_SAFE_COLOR=#ff7020",
		"PODD_LIGHTS_SAFE_LEVEL=0.05",
		"PODD_LIGHTS_WAKE_LEVEL=0.4",
		"PODD_LIGHTS_WAKE_RAMP=20m",
		"PODD_LIGHTS_MAX_SLEW=0.25",
		"PODD_LIGHTS_PCA9685_ENABLED=true",
		"PODD_LIGHTS_PCA9685_I2C_BUS=6",
		"PODD_LIGHTS_PCA9685_ADDRESS=0x41",
		"PODD_LIGHTS_PCA9685_FREQUENCY_HZ=1300",
		"PODD_LIGHTS_PCA9685_OE=GPIO6",
		"PODD_HAPTICS_PLACES={back: {driver: drv2605}, feet: {driver: gpio, line: GPIO5}}",
		"PODD_HAPTICS_DRV2605_I2C_BUS=6",
		"PODD_HAPTICS_DRV2605_ACTUATOR=lra",
		"PODD_HAPTICS_DRV2605_EN=GPIO13",
		"PODD_HAPTICS_MAX_INTENSITY=0.5",
		"PODD_HAPTICS_DUTY_BUDGET=0.2",
		"PODD_HAPTICS_DUTY_WINDOW=2m",
		"PODD_DREAMSCAPE_PROGRAM=dreamscapes/sunrise.yaml",
		"PODD_DREAMSCAPE_RATE_HZ=25",
		"PODD_SIM_RECORD_OUTPUTS=/tmp/outputs.jsonl",
	}
	c, err := Parse([]byte(minimal), environ)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Pod:      PodConfig{ID: "pod-8"},
		Hardware: HardwareConfig{Mode: ModeSim, I2CBus: "3", SPIPort: "SPI1.2", LEDCount: 150, ConsentButton: "GPIO17", PanicButton: "GPIO27", AckButton: "GPIO23", AckHold: 5 * time.Second, IndicatorLED: "GPIO12", OximeterLEDsSwapped: true},
		Sensors: SensorsConfig{
			MAX30102: MAX30102Config{Enabled: true, I2CBus: "4"},
			ADS1299:  ADS1299Config{Enabled: true, SPIPort: "SPI2.0", DRDY: "GPIO22", RateHz: 500, Gain: 12, Channels: 4},
			ADS1115:  ADS1115Config{Enabled: true, I2CBus: "5", Address: 0x4A, Channel: 2, RateHz: 10, SupplyV: 5, RefOhms: 470000},
			TMP117:   TMP117Config{Enabled: true, I2CBus: "5", Address: 0x4B, RateHz: 2, CoreOffsetC: 3.5},
		},
		Uplink: UplinkConfig{
			Brokers: []string{"ssl://hub.example:8883", "mqtts://hub2.example:8884"}, Broker: "ssl://hub.example:8883",
			TLS:      TLSConfig{CA: ca.CertFile, Cert: client.CertFile, Key: client.KeyFile, ServerName: "hub.example"},
			Username: "pod-8", PasswordFile: password,
			EmbeddedListen: "127.0.0.2:1884", ClientID: "bench-7",
			RequireHub: true, ReceiptTimeout: 45 * time.Second,
		},
		Storage:   StorageConfig{Path: "/tmp/p.db", MaxOutboxRecords: 5000, MaxOutboxBytes: 64 << 20, MaxAuditEntries: 500},
		API:       APIConfig{Socket: "/tmp/p.sock", MetricsListen: "127.0.0.1:9464", StatusPage: true, ExposeVitals: true},
		Sim:       SimConfig{Scenario: "sim/scenarios/desat.yaml", RecordOutputs: "/tmp/outputs.jsonl"},
		Telemetry: TelemetryConfig{Interval: 250 * time.Millisecond},
		History:   HistoryConfig{Retention: 72 * time.Hour},
		Session:   SessionConfig{BaselineDuration: 2 * time.Minute, EndingDuration: 30 * time.Second, ConsentDuration: 8 * time.Hour},
		Security:  SecurityConfig{HubKeys: hubKeys},
		Safety: safety.Limits{
			HeartRateHighBPM: 120.5, HeartRateLowBPM: 45, HeartRateDelay: 5 * time.Second,
			SpO2LowPct: 92, SpO2Delay: 8 * time.Second, SpO2CriticalPct: 86, SpO2CriticalDelay: 1500 * time.Millisecond,
			StaleAfter: 3 * time.Second, StartupGrace: time.Minute,
			HeartRateRiseBPM: 30, TemperatureLowC: 35.5, TemperatureHighC: 38, TemperatureDelay: 30 * time.Second,
			StressSCRPerMin: 10, StressDelay: 90 * time.Second, EEGArousalRatio: 2.5, EEGArousalDelay: 20 * time.Second,
			StabilityMin: 0.35, StabilityDelay: 8 * time.Second, PipelineStallAfter: 700 * time.Millisecond,
		},
		Lights: LightsConfig{
			Zones:     []ZoneConfig{{Name: "canopy", First: 0, Count: 100}, {Name: "floor", First: 100, Count: 50}, {Name: "reading", PWM: []int{3}}},
			SafeColor: "#ff7020", SafeLevel: 0.05, WakeLevel: 0.4, WakeRamp: 20 * time.Minute, MaxSlew: 0.25,
			PCA9685: PCA9685Config{Enabled: true, I2CBus: "6", Address: 0x41, FrequencyHz: 1300, OE: "GPIO6"},
		},
		Haptics: HapticsConfig{
			Places:       []PlaceConfig{{Name: "back", Driver: "drv2605"}, {Name: "feet", Driver: "gpio", Line: "GPIO5"}},
			DRV2605:      DRV2605Config{I2CBus: "6", Actuator: "lra", EN: "GPIO13"},
			MaxIntensity: 0.5, DutyBudget: 0.2, DutyWindow: 2 * time.Minute,
		},
		Dreamscape: DreamscapeConfig{Program: "dreamscapes/sunrise.yaml", RateHz: 25},
		Watchdog:   WatchdogConfig{Device: "/dev/watchdog1", Timeout: 5 * time.Second},
		Log:        LogConfig{Level: slog.LevelWarn},
	}
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", *c, want)
	}
	if n := len(environ) - 1; n != len(keys()) {
		t.Errorf("the test overrides %d keys; there are %d", n, len(keys()))
	}
	// Every key overridden, every key in Settings with its value, and the
	// password nowhere.
	settings := map[string]any{
		"pod.id": "pod-8", "hardware.mode": "sim", "hardware.i2c_bus": "3", "hardware.spi_port": "SPI1.2",
		"hardware.led_count": 150, "hardware.consent_button": "GPIO17", "hardware.panic_button": "GPIO27", "hardware.ack_button": "GPIO23", "hardware.ack_hold": "5s", "hardware.indicator_led": "GPIO12",
		"hardware.buttons_active_low": false, "hardware.oximeter_leds_swapped": true,
		"uplink.broker": []string{"ssl://hub.example:8883", "mqtts://hub2.example:8884"},
		"uplink.tls.ca": ca.CertFile, "uplink.tls.cert": client.CertFile, "uplink.tls.key": client.KeyFile,
		"uplink.tls.server_name": "hub.example", "uplink.username": "pod-8", "uplink.password_file": password,
		"uplink.embedded_listen": "127.0.0.2:1884", "uplink.client_id": "bench-7",
		"uplink.require_hub": true, "uplink.receipt_timeout": "45s",
		"storage.path": "/tmp/p.db", "storage.max_outbox_records": 5000, "storage.max_outbox_bytes": int64(64 << 20),
		"storage.max_audit_entries": 500, "api.socket": "/tmp/p.sock", "api.metrics_listen": "127.0.0.1:9464",
		"api.status_page": true, "api.expose_vitals": true,
		"sim.scenario": "sim/scenarios/desat.yaml", "telemetry.interval": "250ms", "history.retention": "72h0m0s", "security.hub_keys": hubKeys,
		"session.baseline_duration": "2m0s", "session.ending_duration": "30s", "session.consent_duration": "8h0m0s",
		"safety.heart_rate_high_bpm": 120.5, "safety.heart_rate_low_bpm": 45.0, "safety.heart_rate_delay": "5s",
		"safety.spo2_low_pct": 92.0, "safety.spo2_delay": "8s", "safety.stale_after": "3s", "safety.startup_grace": "1m0s",
		"safety.spo2_critical_pct": 86.0, "safety.spo2_critical_delay": "1.5s",
		"safety.heart_rate_rise_bpm": 30.0, "safety.temperature_low_c": 35.5, "safety.temperature_high_c": 38.0,
		"safety.temperature_delay": "30s", "safety.stress_scr_per_min": 10.0, "safety.stress_delay": "1m30s",
		"safety.eeg_arousal_ratio": 2.5, "safety.eeg_arousal_delay": "20s", "safety.stability_min": 0.35,
		"safety.stability_delay": "8s", "safety.pipeline_stall_after": "700ms",
		"watchdog.device": "/dev/watchdog1", "watchdog.timeout": "5s", "log.level": "warn",
		"sensors.max30102.enabled": true, "sensors.max30102.i2c_bus": "4",
		"sensors.ads1299.enabled": true, "sensors.ads1299.spi_port": "SPI2.0", "sensors.ads1299.drdy": "GPIO22",
		"sensors.ads1299.rate_hz": 500, "sensors.ads1299.gain": 12, "sensors.ads1299.channels": 4,
		"sensors.ads1115.enabled": true, "sensors.ads1115.i2c_bus": "5", "sensors.ads1115.address": 0x4A,
		"sensors.ads1115.channel": 2, "sensors.ads1115.rate_hz": 10, "sensors.ads1115.supply_v": 5.0, "sensors.ads1115.ref_ohms": 470000.0,
		"sensors.tmp117.enabled": true, "sensors.tmp117.i2c_bus": "5", "sensors.tmp117.address": 0x4B, "sensors.tmp117.rate_hz": 2,
		"sensors.tmp117.core_offset_c": 3.5,
		"lights.zones":                 map[string]any{"canopy": map[string]any{"leds": "0-99"}, "floor": map[string]any{"leds": "100-149"}, "reading": map[string]any{"pwm": []int{3}}},
		"lights.safe_color":            "#ff7020", "lights.safe_level": 0.05, "lights.wake_level": 0.4, "lights.wake_ramp": "20m0s", "lights.max_slew": 0.25,
		"lights.pca9685.enabled": true, "lights.pca9685.i2c_bus": "6", "lights.pca9685.address": 0x41, "lights.pca9685.frequency_hz": 1300, "lights.pca9685.oe": "GPIO6",
		"haptics.places":          map[string]any{"back": map[string]any{"driver": "drv2605"}, "feet": map[string]any{"driver": "gpio", "line": "GPIO5"}},
		"haptics.drv2605.i2c_bus": "6", "haptics.drv2605.actuator": "lra", "haptics.drv2605.en": "GPIO13", "haptics.max_intensity": 0.5, "haptics.duty_budget": 0.2, "haptics.duty_window": "2m0s",
		"dreamscape.program": "dreamscapes/sunrise.yaml", "dreamscape.rate_hz": 25, "sim.record_outputs": "/tmp/outputs.jsonl",
	}
	if got := c.Settings(); !reflect.DeepEqual(got, settings) {
		t.Errorf("Settings =\n%v\nwant\n%v", got, settings)
	}
	for _, k := range keys() {
		if _, ok := c.Settings()[k.name]; !ok {
			t.Errorf("Settings has no %s", k.name)
		}
	}
	if b, err := json.Marshal(c.Settings()); err != nil || strings.Contains(string(b), "s3cret") {
		t.Errorf("Settings as JSON: %s, %v; want JSON without the password", b, err)
	}
	if pw, err := c.Uplink.Password(); pw != "s3cret" || err != nil {
		t.Errorf("Password() = %q, %v; want the file's first line", pw, err)
	}
	if tc, err := c.Uplink.ClientTLS(); err != nil || tc == nil || tc.ServerName != "hub.example" || len(tc.Certificates) != 1 {
		t.Errorf("ClientTLS() = %+v, %v; want the CA, the client certificate and the server name", tc, err)
	}
}

func TestEnvironmentOverridesKeysAbsentFromTheFileAndTheFirstOccurrenceWins(t *testing.T) {
	c, err := Parse([]byte(minimal), []string{
		"PODD_TELEMETRY_INTERVAL=2s",
		"PODD_TELEMETRY_INTERVAL=3s",
		"PODD_SAFETY_SPO2_LOW_PCT=93.5",
		"PODD_HARDWARE_LED_COUNT=8",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := minimalConfig()
	want.Telemetry.Interval = 2 * time.Second
	want.Safety.SpO2LowPct = 93.5
	want.Hardware.LEDCount = 8
	want.Lights.Zones[0].Count = 8
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", *c, want)
	}
}

func TestNullMeansTheDefault(t *testing.T) {
	c, err := Parse([]byte(strings.Replace(minimal, "mode: linux", "mode: linux\n  led_count: ~", 1)+"telemetry:\n  interval:\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Telemetry.Interval != time.Second || c.Hardware.LEDCount != 60 {
		t.Errorf("interval %s, led_count %d; want the defaults 1s, 60", c.Telemetry.Interval, c.Hardware.LEDCount)
	}
}

func TestSafetyBoundsCannotBeLoosened(t *testing.T) {
	const want = "safety.heart_rate_high_bpm: 200 bpm is outside the hard bounds 90..160 bpm"
	_, err := Parse([]byte(minimal+"safety:\n  heart_rate_high_bpm: 200\n"), nil)
	if err == nil || err.Error() != want {
		t.Errorf("in the file: Parse = %v; want %q", err, want)
	}
	_, err = Parse([]byte(minimal), []string{"PODD_SAFETY_HEART_RATE_HIGH_BPM=200"})
	if want := want + " (from PODD_SAFETY_HEART_RATE_HIGH_BPM)"; err == nil || err.Error() != want {
		t.Errorf("from the environment: Parse = %v; want %q", err, want)
	}
}

func TestInvalidConfigurations(t *testing.T) {
	for _, tc := range []struct {
		name    string
		yaml    string
		environ []string
		want    []string
	}{
		{
			name: "empty file",
			yaml: "",
			want: []string{
				`pod.id: "" is not 1 to 32 characters of a-z, 0-9 and -`,
				`hardware.mode: "" is not sim or linux`,
				`uplink.broker: "" is not "embedded" or a broker URL tcp://host:port or mqtt://host:port (or ssl://, tls://, mqtts:// for TLS), with a host name or IP address and a port in 1..65535`,
				`storage.path: "" is required: the path of the bbolt file`,
				`api.socket: "" is required: the path of the Unix socket`,
			},
		},
		{
			name: "every range at once",
			yaml: `
pod: {id: Pod_1}
hardware: {mode: sim, led_count: 2000, i2c_bus: "", spi_port: ""}
uplink: {broker: "ws://hub:8883", embedded_listen: "localhost"}
storage: {path: /x.db}
api: {socket: /run/podd/` + strings.Repeat("s", 100) + `}
telemetry: {interval: 5ms}
safety: {heart_rate_low_bpm: 20, spo2_delay: 31s}
log: {level: verbose}
`,
			want: []string{
				`pod.id: "Pod_1" is not 1 to 32 characters of a-z, 0-9 and -`,
				`hardware.i2c_bus: "" is not an I2C bus name (e.g. "1")`,
				`hardware.spi_port: "" is not an SPI port name (e.g. "SPI0.0")`,
				`hardware.led_count: 2000 is outside 1..1024`,
				`uplink.broker: "ws://hub:8883" is not "embedded" or a broker URL tcp://host:port or mqtt://host:port (or ssl://, tls://, mqtts:// for TLS), with a host name or IP address and a port in 1..65535`,
				`uplink.embedded_listen: "localhost" is not host:port with a port in 1024..65535`,
				`api.socket: "/run/podd/` + strings.Repeat("s", 100) + `" is longer than the 107 bytes a Unix socket path may have`,
				`sim.scenario: "" is required when hardware.mode is sim: the path of a scenario YAML`,
				`telemetry.interval: "5ms" is outside 100ms..60s`,
				`safety.heart_rate_low_bpm: 20 bpm is outside the hard bounds 35..60 bpm`,
				`safety.spo2_delay: 31 s is outside the hard bounds 1..30 s`,
				`log.level: "verbose" is not one of debug, info, warn, error`,
			},
		},
		{
			name: "types",
			yaml: strings.Replace(minimal, "mode: linux", "mode: linux\n  led_count: many", 1) + `
telemetry: {interval: 2}
safety: {spo2_low_pct: [90]}
`,
			want: []string{
				`hardware.led_count: "many" is not an integer`,
				`telemetry.interval: 2 is not a duration (Go syntax with a unit, e.g. "1s", "500ms")`,
				`safety.spo2_low_pct: [90] is not a number`,
			},
		},
		{
			name: "unknown keys",
			yaml: minimal + "safety:\n  heart_rate_hgh_bpm: 200\ntelemetry:\n  intervall: 1s\n",
			want: []string{
				`safety.heart_rate_hgh_bpm: unknown key; did you mean safety.heart_rate_high_bpm?`,
				`telemetry.intervall: unknown key; did you mean telemetry.interval?`,
			},
		},
		{
			name:    "environment",
			yaml:    minimal,
			environ: []string{"PODD_TELEMETRY_INTERVAL=5ms", "PODD_HARDWARE_LED_COUNT=0x10", "PODD_SAFETY_SPO2_LOW_PCT=NaN", "PODD_TELEMETRY_INTERVL=1s"},
			want: []string{
				`PODD_TELEMETRY_INTERVL: no configuration key has this environment variable; did you mean PODD_TELEMETRY_INTERVAL?`,
				`hardware.led_count: "0x10" is not an integer (from PODD_HARDWARE_LED_COUNT)`,
				`telemetry.interval: "5ms" is outside 100ms..60s (from PODD_TELEMETRY_INTERVAL)`,
				`safety.spo2_low_pct: "NaN" is not a finite number (from PODD_SAFETY_SPO2_LOW_PCT)`,
			},
		},
		{
			name:    "a thermometer's offset that hides temperature_low",
			yaml:    minimal,
			environ: []string{"PODD_SENSORS_TMP117_CORE_OFFSET_C=4.1"},
			want: []string{
				"sensors.tmp117.core_offset_c: 4.1 °C with safety.temperature_low_c 35 °C reads a core of 34 °C as 29.9 °C, below the 30 °C the thermometer's estimator takes for skin: temperature_low could never see a sleeper 1 °C below its limit; put the thermometer on warmer skin (a smaller offset, at most 4 °C) or raise safety.temperature_low_c to 35.1 °C (from PODD_SENSORS_TMP117_CORE_OFFSET_C)",
			},
		},
		{
			name:    "hardware watchdog timeout",
			yaml:    minimal,
			environ: []string{"PODD_WATCHDOG_DEVICE=/dev/watchdog", "PODD_WATCHDOG_TIMEOUT=30s"},
			want:    []string{`watchdog.timeout: "30s" is not a whole number of seconds in 2s..15s (from PODD_WATCHDOG_TIMEOUT)`},
		},
		{
			name:    "metrics address",
			yaml:    minimal,
			environ: []string{"PODD_API_METRICS_LISTEN=0.0.0.0:9464"},
			want:    []string{`api.metrics_listen: "0.0.0.0:9464" is not a loopback address (127.0.0.1, [::1] or localhost) (from PODD_API_METRICS_LISTEN)`},
		},
		{
			name:    "status page without the metrics listener",
			yaml:    minimal,
			environ: []string{"PODD_API_STATUS_PAGE=true"},
			want:    []string{`api.status_page: true needs api.metrics_listen: the page is served on the metrics listener (e.g. 127.0.0.1:9464) (from PODD_API_STATUS_PAGE)`},
		},
		{
			name: "broker URLs",
			yaml: minimal,
			environ: []string{
				"PODD_UPLINK_BROKER=tcp://hub.local",
			},
			want: []string{`uplink.broker: "tcp://hub.local" is not "embedded" or a broker URL tcp://host:port or mqtt://host:port (or ssl://, tls://, mqtts:// for TLS), with a host name or IP address and a port in 1..65535 (from PODD_UPLINK_BROKER)`},
		},
		{
			name: "not a mapping",
			yaml: "- a\n- b\n",
			want: []string{`configs: YAML: While parsing config: yaml: unmarshal errors: line 1: cannot unmarshal !!seq into map[string]interface {}`},
		},
		{
			name:    "names that would break a line",
			yaml:    minimal + "\"a\\nb\": 1\n\"\": 2\n",
			environ: []string{"PODD_\n\n=1"},
			want: []string{
				`"": unknown key`,
				`"a\nb": unknown key`,
				`"PODD_\n\n": no configuration key has this environment variable`,
			},
		},
		{
			name: "a syntax error",
			yaml: minimal + "pod: [\n",
			want: []string{`configs: YAML: While parsing config: yaml: line 12: did not find expected node content`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), tc.environ)
			if err == nil {
				t.Fatalf("Parse accepted %+v", c)
			}
			if got, want := err.Error(), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("Parse error:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestEveryBadNumberOrDurationGivesOneLine(t *testing.T) {
	// YAML reads .inf, .nan and integers beyond 64 bits as floats (1e309 is
	// too large for one: a string); 5000000000 is beyond 32 bits, as ints
	// are on armv6 and armv7 pods.
	number := func(bounds string) map[string]string {
		return map[string]string{
			".inf":                  "+Inf is not a finite number",
			"-.inf":                 "-Inf is not a finite number",
			".nan":                  "NaN is not a finite number",
			"1e309":                 `"1e309" is not a finite number`,
			"99999999999999999999":  "1e+20 " + bounds,
			"-99999999999999999999": "-1e+20 " + bounds,
			"5000000000":            "5e+09 " + bounds,
			"true":                  "true is not a number",
			"{a: 1}":                "{a: 1} is not a number",
			"[1, 2]":                "[1, 2] is not a number",
			"[]":                    "[] is not a number",
		}
	}
	const duration = ` is not a duration (Go syntax with a unit, e.g. "1s", "500ms")`
	durationLines := map[string]string{
		".inf":                  "+Inf" + duration,
		"-.inf":                 "-Inf" + duration,
		".nan":                  "NaN" + duration,
		"1e309":                 `"1e309"` + duration,
		"99999999999999999999":  "1e+20" + duration,
		"-99999999999999999999": "-1e+20" + duration,
		"5000000000":            "5000000000" + duration,
		"true":                  "true" + duration,
		"{a: 1}":                "{a: 1}" + duration,
		"[1, 2]":                "[1, 2]" + duration,
		"[]":                    "[]" + duration,
	}
	cases := []struct {
		key   string
		lines map[string]string // by YAML value, the line after "key: "
	}{
		{"hardware.led_count", map[string]string{
			".inf":                  "+Inf is not an integer",
			"-.inf":                 "-Inf is not an integer",
			".nan":                  "NaN is not an integer",
			"1e309":                 `"1e309" is not an integer`,
			"99999999999999999999":  "1e+20 is outside 1..1024",
			"-99999999999999999999": "-1e+20 is outside 1..1024",
			"5000000000":            "5000000000 is outside 1..1024",
			"18446744073709551615":  "18446744073709551615 is outside 1..1024",
			"true":                  "true is not an integer",
			"{a: 1}":                "{a: 1} is not an integer",
			"[1, 2]":                "[1, 2] is not an integer",
			"[]":                    "[] is not an integer",
		}},
		{"storage.max_outbox_records", map[string]string{
			".inf":                  "+Inf is not an integer",
			".nan":                  "NaN is not an integer",
			"1.5":                   "1.5 is not an integer",
			"1":                     "1 is outside 2..2000000",
			"2000001":               "2000001 is outside 2..2000000",
			"-99999999999999999999": "-1e+20 is outside 2..2000000",
			"18446744073709551615":  "18446744073709551615 is outside 2..2000000",
			"many":                  `"many" is not an integer`,
			"[1, 2]":                "[1, 2] is not an integer",
		}},
		{"history.retention", map[string]string{
			"59m":   `"59m0s" is outside 1h..2160h (90 days)`,
			"2161h": `"2161h0m0s" is outside 1h..2160h (90 days)`,
			"14d":   `"14d" is not a duration (Go syntax with a unit, e.g. "1s", "500ms")`,
		}},
		{"storage.max_audit_entries", map[string]string{
			"99":      "99 is outside 100..1000000",
			"1000001": "1000001 is outside 100..1000000",
			"1.5":     "1.5 is not an integer",
			"many":    `"many" is not an integer`,
		}},
		{"storage.max_outbox_bytes", map[string]string{
			".inf":                    "+Inf " + notSize,
			".nan":                    "NaN " + notSize,
			"1.5":                     "1.5 " + notSize,
			"1e309":                   `"1e309" ` + notSize,
			"true":                    "true " + notSize,
			"{a: 1}":                  "{a: 1} " + notSize,
			"[]":                      "[] " + notSize,
			"12MB":                    `"12MB" ` + notSize,
			"12 mib":                  `"12 mib" ` + notSize,
			"-1MiB":                   `"-1MiB" ` + notSize,
			"1.5GiB":                  `"1.5GiB" ` + notSize,
			"-1":                      "-1 " + outsideSize,
			"65535":                   "65535 " + outsideSize,
			"63KiB":                   "64512 " + outsideSize,
			"2GiB":                    "2147483648 " + outsideSize,
			"5000000000":              "5000000000 " + outsideSize,
			"99999999999999999999":    "1e+20 " + outsideSize,
			"-99999999999999999999":   "-1e+20 " + outsideSize,
			"18446744073709551615":    "18446744073709551615 " + outsideSize,
			"9000000000GiB":           `"9000000000GiB" ` + outsideSize,
			"99999999999999999999KiB": `"99999999999999999999KiB" ` + outsideSize,
		}},
		{"safety.heart_rate_high_bpm", number("bpm is outside the hard bounds 90..160 bpm")},
		{"safety.heart_rate_low_bpm", number("bpm is outside the hard bounds 35..60 bpm")},
		{"safety.spo2_low_pct", number("% is outside the hard bounds 85..95 %")},
		{"safety.spo2_critical_pct", number("% is outside the hard bounds 80..88 %")},
		{"safety.heart_rate_rise_bpm", number("bpm is outside the hard bounds 20..50 bpm")},
		{"safety.temperature_low_c", number("°C is outside the hard bounds 34..36 °C")},
		{"safety.temperature_high_c", number("°C is outside the hard bounds 37.5..39.5 °C")},
		{"safety.stress_scr_per_min", number("/min is outside the hard bounds 6..30 /min")},
		{"safety.eeg_arousal_ratio", number("x is outside the hard bounds 1.5..5 x")},
		{"safety.stability_min", number("is outside the hard bounds 0.2..0.5")},
		{"sensors.tmp117.core_offset_c", number("°C is outside 0..5 °C: the core less the reading at the sensor's site")},
		{"safety.temperature_delay", durationLines},
		{"safety.stress_delay", durationLines},
		{"safety.eeg_arousal_delay", durationLines},
		{"safety.stability_delay", durationLines},
		{"safety.pipeline_stall_after", durationLines},
		{"telemetry.interval", durationLines},
		{"safety.heart_rate_delay", durationLines},
		{"safety.spo2_delay", durationLines},
		{"safety.spo2_critical_delay", durationLines},
		{"safety.stale_after", durationLines},
		{"safety.startup_grace", durationLines},
		{"watchdog.timeout", durationLines},
		{"session.baseline_duration", durationLines},
		{"session.ending_duration", durationLines},
		{"session.consent_duration", durationLines},
		{"hardware.ack_hold", durationLines},
		{"uplink.receipt_timeout", durationLines},
		{"uplink.require_hub", map[string]string{
			"1":      "1 is not true or false",
			"yes!":   `"yes!" is not true or false`,
			"[]":     "[] is not true or false",
			"{a: 1}": "{a: 1} is not true or false",
		}},
		{"hardware.buttons_active_low", map[string]string{
			"1":      "1 is not true or false",
			"maybe":  `"maybe" is not true or false`,
			"[]":     "[] is not true or false",
			"{a: 1}": "{a: 1} is not true or false",
		}},
		{"hardware.oximeter_leds_swapped", map[string]string{
			"0":       "0 is not true or false",
			"swapped": `"swapped" is not true or false`,
			"[]":      "[] is not true or false",
		}},
	}
	for _, k := range []string{"sensors.max30102.enabled", "sensors.ads1299.enabled", "sensors.ads1115.enabled", "sensors.tmp117.enabled"} {
		cases = append(cases, struct {
			key   string
			lines map[string]string
		}{k, map[string]string{"1": "1 is not true or false", "on!": `"on!" is not true or false`}})
	}
	for _, k := range []string{"sensors.ads1299.rate_hz", "sensors.ads1299.gain", "sensors.ads1115.rate_hz"} {
		cases = append(cases, struct {
			key   string
			lines map[string]string
		}{k, map[string]string{"2.5": "2.5 is not an integer", "fast": `"fast" is not an integer`}})
	}
	cases = append(cases, []struct {
		key   string
		lines map[string]string
	}{
		{"sensors.ads1299.channels", map[string]string{"9": "9 is outside 1..8", "0": "0 is outside 1..8", "all": `"all" is not an integer`}},
		{"sensors.ads1299.rate_hz", map[string]string{"200": "200 is not one of 250, 500"}},
		{"sensors.ads1299.gain", map[string]string{"3": "3 is not one of 1, 2, 4, 6, 8, 12, 24"}},
		{"sensors.ads1115.rate_hz", map[string]string{"0": "0 is outside 1..100", "860": "860 is outside 1..100"}},
		{"sensors.ads1115.channel", map[string]string{"4": "4 is outside 0..3", "-1": "-1 is outside 0..3"}},
		{"sensors.tmp117.rate_hz", map[string]string{"0": "0 is not one of 1, 2, 4", "1.5": "1.5 is not an integer"}},
		{"sensors.ads1115.address", map[string]string{`"0x80"`: `"0x80" is not a 7-bit I2C address (e.g. 0x49)`, `"ADDR"`: `"ADDR" is not a 7-bit I2C address (e.g. 0x49)`, "1.5": "1.5 is not an integer"}},
		{"sensors.tmp117.address", map[string]string{`"0x"`: `"0x" is not a 7-bit I2C address (e.g. 0x49)`}},
		{"sensors.ads1115.supply_v", map[string]string{"volts": `"volts" is not a number`}},
		{"sensors.ads1115.ref_ohms", map[string]string{".inf": "+Inf is not a finite number"}},
		{"lights.safe_level", number("is outside 0.005..0.2: the safe state's light is dim, never dark")},
		{"lights.wake_level", number("is outside lights.safe_level..0.6 (0.04..0.6)")},
		{"lights.max_slew", number("is outside 0.01..0.5 per second: faster changes can make flashes and flicker")},
		{"haptics.max_intensity", number("is outside 0.05..0.8 of full scale")},
		{"haptics.duty_budget", number("is outside 0.01..0.3 of the window")},
		{"lights.wake_ramp", durationLines},
		{"haptics.duty_window", durationLines},
		{"lights.pca9685.enabled", map[string]string{"1": "1 is not true or false", "on!": `"on!" is not true or false`}},
		{"lights.pca9685.address", map[string]string{`"0x80"`: `"0x80" is not a 7-bit I2C address (e.g. 0x49)`, "0x70": "0x70 is outside 0x40..0x7F or is 0x70 (the all-call address)", "0x20": "0x20 is outside 0x40..0x7F or is 0x70 (the all-call address)"}},
		{"lights.pca9685.frequency_hz", map[string]string{"2.5": "2.5 is not an integer", "2000": "2000 is outside 1250..1526 Hz: the PCA9685 switches a lit channel fully on and off at this frequency, a flicker risk below 1250 Hz (IEEE 1789-2015), and its prescaler goes no higher than 1526 Hz", "1000": "1000 is outside 1250..1526 Hz: the PCA9685 switches a lit channel fully on and off at this frequency, a flicker risk below 1250 Hz (IEEE 1789-2015), and its prescaler goes no higher than 1526 Hz"}},
		{"api.status_page", map[string]string{"1": "1 is not true or false", "yes!": `"yes!" is not true or false`}},
		{"api.expose_vitals", map[string]string{"0": "0 is not true or false"}},
		{"dreamscape.rate_hz", map[string]string{"5": "5 is outside 10..100 frames a second", "fast": `"fast" is not an integer`}},
	}...)
	tested := map[string]bool{}
	for _, tc := range cases {
		tested[tc.key] = true
		for value, line := range tc.lines {
			want := tc.key + ": " + line
			if _, err := Parse([]byte(withKey(tc.key, value)), nil); err == nil || err.Error() != want {
				t.Errorf("%s: %s: Parse = %v; want %q", tc.key, value, err, want)
			}
		}
	}
	for _, k := range keys() {
		if _, isString := k.def.(string); k.def != nil && !isString && !tested[k.name] {
			t.Errorf("%s holds a number or a duration; the test does not check it", k.name)
		}
	}
}

const (
	notSize     = `is not a size: an integer of bytes, or one with a unit, B, KiB, MiB or GiB (e.g. "96MiB")`
	outsideSize = "is outside 64KiB..1GiB (65536..1073741824 bytes)"
)

// A size is bytes, or an integer with a binary unit.
func TestStorageMaxOutboxBytesTakesUnits(t *testing.T) {
	for value, want := range map[string]int64{
		"65536": 65536, "96MiB": 96 << 20, `"96 MiB"`: 96 << 20, "64KiB": 64 << 10, "1GiB": 1 << 30,
		"100000B": 100000, `" 2MiB "`: 2 << 20,
	} {
		c, err := Parse([]byte(withKey("storage.max_outbox_bytes", value)), nil)
		if err != nil || c.Storage.MaxOutboxBytes != want {
			t.Errorf("max_outbox_bytes: %s: Parse = %v; want %d bytes", value, err, want)
		}
	}
	c, err := Parse([]byte(withKey("storage.max_outbox_records", "2")), []string{"PODD_STORAGE_MAX_OUTBOX_BYTES=1048576"})
	if err != nil || c.Storage.MaxOutboxRecords != 2 || c.Storage.MaxOutboxBytes != 1<<20 {
		t.Errorf("Parse = %+v, %v; want 2 records, 1 MiB", c, err)
	}
}

// withKey is minimal with key set to the YAML value.
func withKey(key, value string) string {
	section, leaf, _ := strings.Cut(key, ".")
	line := "  " + leaf + ": " + value
	if strings.Contains(minimal, "\n"+section+":\n") {
		return strings.Replace(minimal, "\n"+section+":\n", "\n"+section+":\n"+line+"\n", 1)
	}
	return minimal + section + ":\n" + line + "\n"
}

func TestAProblemBetweenKeysIsLeftOutWhenOneOfThemHasItsOwn(t *testing.T) {
	for _, tc := range []struct {
		name    string
		yaml    string
		environ []string
		want    string
	}{
		{
			name: "high unreadable",
			yaml: minimal + "safety: {heart_rate_high_bpm: .nan, heart_rate_low_bpm: 55}\n",
			want: "safety.heart_rate_high_bpm: NaN is not a finite number",
		},
		{
			name: "high below its bounds and below low",
			yaml: minimal + "safety: {heart_rate_high_bpm: 50, heart_rate_low_bpm: 55}\n",
			want: "safety.heart_rate_high_bpm: 50 bpm is outside the hard bounds 90..160 bpm",
		},
		{
			name: "low above its bounds and above high",
			yaml: minimal + "safety: {heart_rate_high_bpm: 130, heart_rate_low_bpm: 140}\n",
			want: "safety.heart_rate_low_bpm: 140 bpm is outside the hard bounds 35..60 bpm",
		},
		{
			name: "both outside their bounds",
			yaml: minimal + "safety: {heart_rate_high_bpm: 20, heart_rate_low_bpm: 200}\n",
			want: "safety.heart_rate_high_bpm: 20 bpm is outside the hard bounds 90..160 bpm\n" +
				"safety.heart_rate_low_bpm: 200 bpm is outside the hard bounds 35..60 bpm",
		},
		{
			name:    "high unreadable in the environment",
			yaml:    minimal,
			environ: []string{"PODD_SAFETY_HEART_RATE_HIGH_BPM=1e309"},
			want:    `safety.heart_rate_high_bpm: "1e309" is not a finite number (from PODD_SAFETY_HEART_RATE_HIGH_BPM)`,
		},
		{
			name:    "the embedded broker's address unreadable",
			yaml:    strings.Replace(minimal, "tcp://hub.local:1883", "embedded\n  embedded_listen: [127.0.0.1:9464]", 1),
			environ: []string{"PODD_API_METRICS_LISTEN=127.0.0.1:9464"},
			want:    `uplink.embedded_listen: ["127.0.0.1:9464"] is not a string`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), tc.environ)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Parse = %v; want %q", err, tc.want)
			}
		})
	}
}

func TestLargeWholeNumbersAreIntegers(t *testing.T) {
	c, err := Parse([]byte(withKey("hardware.led_count", "1e3")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hardware.LEDCount != 1000 {
		t.Errorf("led_count = %d; want 1000", c.Hardware.LEDCount)
	}
}

// pod.yaml says its safety values are the defaults: it writes every one.
func TestPodYAMLWritesEverySafetyLimitAtItsDefault(t *testing.T) {
	b, err := os.ReadFile("pod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Safety map[string]any `yaml:"safety"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var written []string
	for k := range doc.Safety {
		written = append(written, "safety."+k)
	}
	slices.Sort(written)
	want := slices.Sorted(slices.Values(safetyKeys()))
	if !slices.Equal(written, want) {
		t.Errorf("pod.yaml writes %v; want every safety key: %v", written, want)
	}
	c, err := Load("pod.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Safety != safety.DefaultLimits() {
		t.Errorf("pod.yaml's safety limits are %+v; want the defaults %+v", c.Safety, safety.DefaultLimits())
	}
}

// brokers are uplink.broker values and whether the loader accepts them.
var brokers = []struct {
	broker string
	ok     bool
}{
	{"embedded", true},
	{"tcp://hub.local:1883", true},
	{"mqtt://hub.local:1883", true},
	{"tcp://Hub-1.example.org:1883", true},
	{"tcp://localhost:1", true},
	{"mqtt://10.0.0.2:65535", true},
	{"tcp://[::1]:1883", true},
	{"tcp://[fe80::1]:1883", true},
	{"tcp://[::ffff:10.0.0.2]:1883", true},

	{"", false},
	{"Embedded", false},
	{"ssl://hub.local:8883", true},
	{"tls://hub.local:8883", true},
	{"mqtts://hub.local:8883", true},
	{"ws://hub.local:8080/mqtt", false},
	{"wss://hub.local:443/mqtt", false},
	{"unix:///run/mosquitto/mqtt.sock", false},
	{"TCP://hub.local:1883", false},
	{"hub.local:1883", false},
	{"tcp:hub.local:1883", false},
	{"tcp://hub.local", false},
	{"tcp://hub.local:", false},
	{"tcp://hub.local:0", false},
	{"tcp://hub.local:65536", false},
	{"tcp://hub.local:01883", false},
	{"tcp://hub.local:mqtt", false},
	{"tcp://:1883", false},
	{"tcp://hub.local:1883/", false},
	{"tcp://hub.local:1883/mqtt", false},
	{"tcp://hub.local:1883?", false},
	{"tcp://hub.local:1883?qos=1", false},
	{"tcp://hub.local:1883#", false},
	{"tcp://hub.local:1883#x", false},
	{"tcp://user:pw@hub.local:1883", false},
	{"tcp://@hub.local:1883", false},
	{"tcp://::1:1883", false},
	{"tcp://[127.0.0.1]:1883", false},
	{"tcp://[fe80::1%25eth0]:1883", false},
	{"tcp://hub%25:1883", false},
	{"tcp://hub_1.local:1883", false},
	{"tcp://-hub.local:1883", false},
	{"tcp://hub..local:1883", false},
	{"tcp://hub.local.:1883", false},
	{"tcp://256.0.0.1:1883", false},
	{" tcp://hub.local:1883", false},
	{"tcp://hub.local:1883 ", false},
}

func TestBrokerValues(t *testing.T) {
	for _, tc := range brokers {
		c, err := Parse([]byte(minimal), []string{"PODD_UPLINK_BROKER=" + tc.broker})
		if tc.ok {
			if err != nil {
				t.Errorf("broker %q: Parse = %v; want it accepted", tc.broker, err)
			} else if c.Uplink.Broker != tc.broker {
				t.Errorf("broker %q: Parse gave %q", tc.broker, c.Uplink.Broker)
			}
			continue
		}
		want := "uplink.broker: " + strconv.Quote(tc.broker) + ` is not "embedded" or a broker URL tcp://host:port or mqtt://host:port (or ssl://, tls://, mqtts:// for TLS), with a host name or IP address and a port in 1..65535 (from PODD_UPLINK_BROKER)`
		if err == nil || err.Error() != want {
			t.Errorf("broker %q: Parse = %v; want %q", tc.broker, err, want)
		}
	}
}

// Every broker URL the loader accepts is one the uplink accepts: podd must
// not start and then stop on its configuration.
func TestAcceptedBrokersAreAcceptedByTheUplink(t *testing.T) {
	store, err := journal.Open(filepath.Join(t.TempDir(), "podd.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Error(err)
		}
	})
	for _, tc := range brokers {
		if !tc.ok || tc.broker == Embedded {
			continue
		}
		if _, err := uplink.New(uplink.Config{Broker: tc.broker, Pod: "pod-7"}, store); err != nil {
			t.Errorf("broker %q: %v", tc.broker, err)
		}
	}
}

func FuzzBroker(f *testing.F) {
	for _, tc := range brokers {
		f.Add(tc.broker)
	}
	f.Fuzz(func(t *testing.T, broker string) {
		c, err := Parse([]byte(minimal), []string{"PODD_UPLINK_BROKER=" + broker})
		if err != nil || broker == Embedded {
			return
		}
		if strings.Contains(broker, ",") {
			return // a list: each entry is checked as one broker
		}
		if c.Uplink.Broker != broker {
			t.Fatalf("Parse gave broker %q for %q", c.Uplink.Broker, broker)
		}
		u, err := url.Parse(broker)
		if err != nil {
			t.Fatalf("accepted %q, which url.Parse refuses: %v", broker, err)
		}
		if !slices.Contains([]string{"tcp", "mqtt", "ssl", "tls", "mqtts"}, u.Scheme) {
			t.Fatalf("accepted %q with scheme %q; want tcp, mqtt, ssl, tls or mqtts", broker, u.Scheme)
		}
		if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
			t.Fatalf("accepted %q with port %q; want a number in 1..65535", broker, u.Port())
		}
		if u.Hostname() == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
			t.Fatalf("accepted %q: %#v; want only a scheme, a host and a port", broker, *u)
		}
	})
}

func TestListenAddresses(t *testing.T) {
	const (
		port     = "is not host:port with a port in 1024..65535"
		loopback = "is not a loopback address (127.0.0.1, [::1] or localhost)"
		local    = "is not a loopback address (127.0.0.1, [::1] or localhost): the embedded broker has no authentication, so anyone on the network could read the sleeper's vitals and publish to the pod; listen on 127.0.0.1, or run a broker with authentication (mosquitto) and set uplink.broker to it"
	)
	for _, tc := range []struct {
		key, addr string
		want      string // what is allowed; empty when accepted
	}{
		{"api.metrics_listen", "127.0.0.1:9464", ""},
		{"api.metrics_listen", "127.0.0.2:9464", ""},
		{"api.metrics_listen", "[::1]:9464", ""},
		{"api.metrics_listen", "[::ffff:127.0.0.1]:9464", ""},
		{"api.metrics_listen", "localhost:9464", ""},
		{"api.metrics_listen", "127.0.0.1:1024", ""},
		{"api.metrics_listen", "127.0.0.1:65535", ""},
		{"api.metrics_listen", "0.0.0.0:9464", loopback},
		{"api.metrics_listen", "[::]:9464", loopback},
		{"api.metrics_listen", "10.0.0.2:9464", loopback},
		{"api.metrics_listen", "hub.local:9464", loopback},
		{"api.metrics_listen", "LOCALHOST:9464", loopback},
		{"api.metrics_listen", "localhost.:9464", loopback},
		{"api.metrics_listen", "[::1%lo]:9464", loopback},
		{"api.metrics_listen", "127.0.0.1:80", port},
		{"api.metrics_listen", "127.0.0.1:1023", port},
		{"api.metrics_listen", "127.0.0.1:0", port},
		{"api.metrics_listen", "127.0.0.1:65536", port},
		{"api.metrics_listen", "127.0.0.1:09464", port},
		{"api.metrics_listen", "127.0.0.1:+9464", port},
		{"api.metrics_listen", "127.0.0.1:http", port},
		{"api.metrics_listen", "[127.0.0.1]:9464", port},
		{"api.metrics_listen", "::1:9464", port},
		{"api.metrics_listen", ":9464", port},
		{"api.metrics_listen", "127.0.0.1", port},
		{"uplink.embedded_listen", "127.0.0.1:1883", ""},
		{"uplink.embedded_listen", "[::1]:1883", ""},
		{"uplink.embedded_listen", "localhost:1883", ""},
		{"uplink.embedded_listen", "0.0.0.0:1883", local},
		{"uplink.embedded_listen", "[::]:1883", local},
		{"uplink.embedded_listen", "10.0.0.2:1883", local},
		{"uplink.embedded_listen", "[fe80::1]:1883", local},
		{"uplink.embedded_listen", "hub.local:1883", local},
		{"uplink.embedded_listen", "127.0.0.1:883", port},
		{"uplink.embedded_listen", ":1883", port},
		{"uplink.embedded_listen", "localhost", port},
	} {
		env := EnvName(tc.key)
		c, err := Parse([]byte(minimal), []string{env + "=" + tc.addr})
		if tc.want != "" {
			want := tc.key + ": " + strconv.Quote(tc.addr) + " " + tc.want + " (from " + env + ")"
			if err == nil || err.Error() != want {
				t.Errorf("%s %q: Parse = %v; want %q", tc.key, tc.addr, err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q: Parse = %v; want it accepted", tc.key, tc.addr, err)
			continue
		}
		got := c.API.MetricsListen
		if tc.key == "uplink.embedded_listen" {
			got = c.Uplink.EmbeddedListen
		}
		if got != tc.addr {
			t.Errorf("%s %q: Parse gave %q", tc.key, tc.addr, got)
		}
		// The daemon's parts listen with net.Listen("tcp", addr). The port
		// is replaced by 0, since the one written may be taken on this machine.
		host, _, _ := net.SplitHostPort(tc.addr)
		if ip := net.ParseIP(host); ip != nil && ip.To4() == nil && !hasIPv6() {
			t.Logf("%s %q: not bound, this machine has no IPv6", tc.key, tc.addr)
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Errorf("%s %q accepted, but: %v", tc.key, tc.addr, err)
			continue
		}
		if err := ln.Close(); err != nil {
			t.Error(err)
		}
	}
}

// hasIPv6 reports whether this machine has an IPv6 loopback address.
func hasIPv6() bool {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	return ln.Close() == nil
}

func TestMetricsTakeAnotherPortThanTheEmbeddedBroker(t *testing.T) {
	for _, tc := range []struct {
		broker, embedded, metrics string
		want                      string // empty when accepted
	}{
		{"embedded", "127.0.0.1:1883", "127.0.0.1:9464", ""},
		{"tcp://hub.local:1883", "127.0.0.1:1883", "127.0.0.1:1883", ""}, // no embedded broker
		{"embedded", "127.0.0.1:1883", "127.0.0.1:1883",
			`api.metrics_listen: "127.0.0.1:1883" is on the port of the embedded broker (uplink.embedded_listen "127.0.0.1:1883"): use another port (from PODD_API_METRICS_LISTEN)`},
		{"embedded", "[::1]:1883", "localhost:1883",
			`api.metrics_listen: "localhost:1883" is on the port of the embedded broker (uplink.embedded_listen "[::1]:1883"): use another port (from PODD_API_METRICS_LISTEN)`},
	} {
		_, err := Parse([]byte(minimal), []string{
			"PODD_UPLINK_BROKER=" + tc.broker,
			"PODD_UPLINK_EMBEDDED_LISTEN=" + tc.embedded,
			"PODD_API_METRICS_LISTEN=" + tc.metrics,
		})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: Parse = %v; want it accepted", tc, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%+v: Parse = %v; want %q", tc, err, tc.want)
		}
	}
}

func TestEnvName(t *testing.T) {
	for k, want := range map[string]string{
		"uplink.broker":          "PODD_UPLINK_BROKER",
		"sim.scenario":           "PODD_SIM_SCENARIO",
		"telemetry.interval":     "PODD_TELEMETRY_INTERVAL",
		"uplink.embedded_listen": "PODD_UPLINK_EMBEDDED_LISTEN",
	} {
		if got := EnvName(k); got != want {
			t.Errorf("EnvName(%q) = %q; want %q", k, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"sim.yaml", "pod.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "")
	}
	f.Add([]byte(minimal), "PODD_TELEMETRY_INTERVAL=100ms")
	f.Add([]byte(minimal+"safety: {spo2_low_pct: 95}"), "PODD_HARDWARE_LED_COUNT=1024")
	f.Add([]byte("pod: {id: 1}\nhardware: {mode: sim, i2c_bus: 1.5}"), "PODD_POD_ID=x")
	f.Add([]byte(minimal+"safety:\n  heart_rate_high_bpm: 100\n  HEART_RATE_HIGH_BPM: 150\n"), "")
	f.Add([]byte(minimal+"Safety: {spo2_low_pct: 95}\nsafety: 5\n"), "PODD_SAFETY_SPO2_LOW_PCT=92")
	f.Add([]byte(minimal+"x: &x {heart_rate_high_bpm: 150}\nsafety: {<<: *x, Heart_Rate_High_Bpm: 100}\n"), "")
	f.Add([]byte(minimal+"safety.heart_rate_high_bpm: 100\n---\nsafety: {heart_rate_high_bpm: .inf}\n"), "")
	f.Add([]byte("a: &a [1, 1]\nb: &b [*a, *a]\nc: [*b, *b, {k: 1, K: *b}]\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, env string) {
		c, err := Parse(data, strings.Split(env, "\x00"))
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned a config with error %v", err)
			}
			if slices.Contains(strings.Split(err.Error(), "\n"), "") {
				t.Fatalf("Parse error with an empty line: %q", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that fails Validate: %v\n%+v", err, *c)
		}
		var doc any
		if yaml.Unmarshal(data, &doc) == nil {
			if k, ok := foldedTwice(doc); ok {
				t.Fatalf("Parse accepted a document with the key %q written twice:\n%s", k, data)
			}
		}
	})
}

// foldedTwice finds a key of a decoded YAML document's mappings that
// another key of the same mapping equals once case is ignored.
func foldedTwice(v any) (string, bool) {
	switch v := v.(type) {
	case map[string]any:
		seen := map[string]bool{}
		for k, e := range v {
			if seen[strings.ToLower(k)] {
				return k, true
			}
			seen[strings.ToLower(k)] = true
			if k, ok := foldedTwice(e); ok {
				return k, true
			}
		}
	case []any:
		for _, e := range v {
			if k, ok := foldedTwice(e); ok {
				return k, true
			}
		}
	}
	return "", false
}

func TestUplinkTransportAndCredentials(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	empty := filepath.Join(dir, "empty")
	for _, f := range []string{notPEM, empty} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"plain and TLS mixed", []string{"PODD_UPLINK_BROKER=ssl://a.example:8883,tcp://b.example:1883"},
			`uplink.broker: "tcp://b.example:1883" is plain TCP in a list of TLS brokers: use TLS for all (the vitals must not fall back to the clear)`},
		{"TLS files for a plain broker", []string{"PODD_UPLINK_TLS_SERVER_NAME=hub.example"},
			`uplink.tls.server_name: is set but no broker uses TLS: use ssl://host:port`},
		{"a CA file that holds no certificate", []string{"PODD_UPLINK_BROKER=ssl://a.example:8883", "PODD_UPLINK_TLS_CA=" + notPEM},
			`uplink.tls.ca: uplink.LoadTLS: CA file ` + notPEM},
		{"embedded in a list", []string{"PODD_UPLINK_BROKER=embedded,tcp://b.example:1883"},
			`uplink.broker: "embedded" is only allowed alone`},
		{"a broker listed twice", []string{"PODD_UPLINK_BROKER=tcp://b.example:1883,tcp://b.example:1883"},
			`uplink.broker: "tcp://b.example:1883" is listed twice`},
		{"a password without a user", []string{"PODD_UPLINK_PASSWORD_FILE=" + notPEM},
			`uplink.password_file: "` + notPEM + `" is set without uplink.username`},
		{"an empty password file", []string{"PODD_UPLINK_USERNAME=pod-7", "PODD_UPLINK_PASSWORD_FILE=" + empty},
			`uplink.password_file: "` + empty + `" cannot be used: its first line is empty`},
		{"a missing password file", []string{"PODD_UPLINK_USERNAME=pod-7", "PODD_UPLINK_PASSWORD_FILE=" + dir + "/none"},
			`uplink.password_file: "` + dir + `/none" cannot be used: open ` + dir + `/none: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal), tt.env)
			if err == nil {
				t.Fatalf("Parse accepted %v", tt.env)
			}
			lines := strings.Split(err.Error(), "\n")
			got := strings.TrimSuffix(lines[0], " (from "+strings.SplitN(tt.env[len(tt.env)-1], "=", 2)[0]+")")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tt.want) {
				t.Fatalf("Parse error =\n%s\nwant one line starting\n%s\n(got %q)", err, tt.want, got)
			}
		})
	}
}

func TestSessionDurationsAndButtons(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{withKey("session.baseline_duration", "5s"), `session.baseline_duration: "5s" is outside 10s..5m0s`},
		{withKey("session.ending_duration", "1h"), `session.ending_duration: "1h0m0s" is outside 5s..10m0s`},
		{withKey("session.consent_duration", "48h"), `session.consent_duration: "48h0m0s" is outside 1m0s..24h0m0s`},
		{withKey("uplink.receipt_timeout", "1s"), `uplink.receipt_timeout: "1s" is outside 5s..10m0s`},
		{withKey("uplink.receipt_timeout", "1h"), `uplink.receipt_timeout: "1h0m0s" is outside 5s..10m0s`},
		{minimal + "safety:\n  startup_grace: 1s\n  stale_after: 2s\n",
			"safety.startup_grace: 1 s with safety.stale_after 2 s gives the first valid reading 3 s, less than the 5 s it takes (the estimator's first 4 s of signal and the sensor's start): the pod would latch vitals_stale at every start"},
		{minimal + "security:\n  hub_keys: /nonexistent/hub-keys.json\n",
			`security.hub_keys: "/nonexistent/hub-keys.json" cannot be used: hubcmd.LoadKeySet: open /nonexistent/hub-keys.json: no such file or directory`},
		{strings.Replace(minimal, "mode: linux", "mode: linux\n  consent_button: GPIO17\n  panic_button: GPIO17", 1),
			`hardware.panic_button: "GPIO17" is also the consent button: each button needs its own line`},
		{withKey("hardware.ack_hold", "500ms"), `hardware.ack_hold: "500ms" is outside 1s..10s`},
		{withKey("hardware.ack_hold", "11s"), `hardware.ack_hold: "11s" is outside 1s..10s`},
		{strings.Replace(minimal, "mode: linux", "mode: linux\n  consent_button: GPIO17\n  ack_button: \"17\"", 1),
			`hardware.ack_button: "17" is also hardware.consent_button: each button needs its own line`},
		{strings.Replace(minimal, "mode: linux", "mode: linux\n  panic_button: GPIO27\n  ack_button: gpio27", 1),
			`hardware.ack_button: "gpio27" is also hardware.panic_button: each button needs its own line`},
		{strings.Replace(minimal, "mode: linux", "mode: linux\n  ack_button: GPIO25", 1) + "sensors:\n  ads1299: {enabled: true}\n",
			`sensors.ads1299.drdy: "GPIO25" is also hardware.ack_button: DRDY needs its own line`},
	} {
		if _, err := Parse([]byte(tc.yaml), nil); err == nil || err.Error() != tc.want {
			t.Errorf("Parse = %v; want %q", err, tc.want)
		}
	}
}

func TestHistoryRetentionIsBoundedTo1hUpTo90Days(t *testing.T) {
	for _, c := range []struct {
		env  string
		want time.Duration
		err  string
	}{
		{"", 14 * 24 * time.Hour, ""},
		{"PODD_HISTORY_RETENTION=1h", time.Hour, ""},
		{"PODD_HISTORY_RETENTION=2160h", 90 * 24 * time.Hour, ""},
		{"PODD_HISTORY_RETENTION=59m", 0, `history.retention: "59m0s" is outside 1h..2160h (90 days) (from PODD_HISTORY_RETENTION)`},
		{"PODD_HISTORY_RETENTION=2161h", 0, `history.retention: "2161h0m0s" is outside 1h..2160h (90 days) (from PODD_HISTORY_RETENTION)`},
		{"PODD_HISTORY_RETENTION=14d", 0, `history.retention: "14d" is not a duration`},
	} {
		var env []string
		if c.env != "" {
			env = []string{c.env}
		}
		cfg, err := Parse([]byte(minimal), env)
		switch {
		case c.err == "" && (err != nil || cfg.History.Retention != c.want):
			t.Errorf("%s: %v, %v; want %v", c.env, cfg.History.Retention, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v; want an error with %q", c.env, err, c.err)
		}
	}
}
