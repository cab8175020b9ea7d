package configs

import (
	"slices"
	"strings"
)

// Settings is the effective configuration, key by key: every key of the
// file by its dotted name (storage.path, safety.heart_rate_high_bpm), with
// the value in force after the defaults and the PODD_ overrides, as JSON
// writes it: strings, numbers, booleans; durations as Go durations ("10s");
// sizes in bytes; uplink.broker as the list of brokers; log.level as debug,
// info, warn or error. It is what the pod reports at start (the config
// event, an entry of the audit log). It holds no secret: the configuration
// holds none, only the paths of the files that do (uplink.password_file,
// uplink.tls.key), which are read at start and never copied here.
func (c *Config) Settings() map[string]any {
	brokers := slices.Clone(c.Uplink.Brokers)
	if brokers == nil {
		brokers = []string{}
	}
	m := map[string]any{
		"pod.id":                         c.Pod.ID,
		"hardware.mode":                  string(c.Hardware.Mode),
		"hardware.i2c_bus":               c.Hardware.I2CBus,
		"hardware.spi_port":              c.Hardware.SPIPort,
		"hardware.led_count":             c.Hardware.LEDCount,
		"hardware.consent_button":        c.Hardware.ConsentButton,
		"hardware.panic_button":          c.Hardware.PanicButton,
		"hardware.ack_button":            c.Hardware.AckButton,
		"hardware.ack_hold":              c.Hardware.AckHold.String(),
		"hardware.indicator_led":         c.Hardware.IndicatorLED,
		"hardware.buttons_active_low":    c.Hardware.ButtonsActiveLow,
		"hardware.oximeter_leds_swapped": c.Hardware.OximeterLEDsSwapped,
		"uplink.broker":                  brokers,
		"uplink.tls.ca":                  c.Uplink.TLS.CA,
		"uplink.tls.cert":                c.Uplink.TLS.Cert,
		"uplink.tls.key":                 c.Uplink.TLS.Key,
		"uplink.tls.server_name":         c.Uplink.TLS.ServerName,
		"uplink.username":                c.Uplink.Username,
		"uplink.password_file":           c.Uplink.PasswordFile,
		"uplink.embedded_listen":         c.Uplink.EmbeddedListen,
		"uplink.client_id":               c.Uplink.ClientID,
		"uplink.require_hub":             c.Uplink.RequireHub,
		"uplink.receipt_timeout":         c.Uplink.ReceiptTimeout.String(),
		"storage.path":                   c.Storage.Path,
		"storage.max_outbox_records":     c.Storage.MaxOutboxRecords,
		"storage.max_outbox_bytes":       c.Storage.MaxOutboxBytes,
		"storage.max_audit_entries":      c.Storage.MaxAuditEntries,
		"api.socket":                     c.API.Socket,
		"api.metrics_listen":             c.API.MetricsListen,
		"api.status_page":                c.API.StatusPage,
		"api.expose_vitals":              c.API.ExposeVitals,
		"sim.scenario":                   c.Sim.Scenario,
		"telemetry.interval":             c.Telemetry.Interval.String(),
		"history.retention":              c.History.Retention.String(),
		"security.hub_keys":              c.Security.HubKeys,
		"session.baseline_duration":      c.Session.BaselineDuration.String(),
		"session.ending_duration":        c.Session.EndingDuration.String(),
		"session.consent_duration":       c.Session.ConsentDuration.String(),
		"safety.heart_rate_high_bpm":     c.Safety.HeartRateHighBPM,
		"safety.heart_rate_low_bpm":      c.Safety.HeartRateLowBPM,
		"safety.heart_rate_delay":        c.Safety.HeartRateDelay.String(),
		"safety.spo2_low_pct":            c.Safety.SpO2LowPct,
		"safety.spo2_delay":              c.Safety.SpO2Delay.String(),
		"safety.spo2_critical_pct":       c.Safety.SpO2CriticalPct,
		"safety.spo2_critical_delay":     c.Safety.SpO2CriticalDelay.String(),
		"safety.stale_after":             c.Safety.StaleAfter.String(),
		"safety.startup_grace":           c.Safety.StartupGrace.String(),
		"safety.heart_rate_rise_bpm":     c.Safety.HeartRateRiseBPM,
		"safety.temperature_low_c":       c.Safety.TemperatureLowC,
		"safety.temperature_high_c":      c.Safety.TemperatureHighC,
		"safety.temperature_delay":       c.Safety.TemperatureDelay.String(),
		"safety.stress_scr_per_min":      c.Safety.StressSCRPerMin,
		"safety.stress_delay":            c.Safety.StressDelay.String(),
		"safety.eeg_arousal_ratio":       c.Safety.EEGArousalRatio,
		"safety.eeg_arousal_delay":       c.Safety.EEGArousalDelay.String(),
		"safety.stability_min":           c.Safety.StabilityMin,
		"safety.stability_delay":         c.Safety.StabilityDelay.String(),
		"safety.pipeline_stall_after":    c.Safety.PipelineStallAfter.String(),
		"watchdog.device":                c.Watchdog.Device,
		"watchdog.timeout":               c.Watchdog.Timeout.String(),
		"log.level":                      strings.ToLower(c.Log.Level.String()),
	}
	c.sensorSettings(m)
	c.outputSettings(m)
	return m
}
