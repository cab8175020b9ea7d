// Package configs owns the pod's configuration: the shipped files (pod.yaml
// for a Raspberry Pi pod, sim.yaml for the simulator) and their loader.
//
// A configuration is YAML read with viper. Every key can be overridden by an
// environment variable named PODD_ and the key path in upper case with _ for
// . (PODD_UPLINK_BROKER, PODD_SAFETY_SPO2_LOW_PCT). The loader takes the
// environment as an argument and matches these names itself, rather than
// through viper's AutomaticEnv, which reads the process environment and
// ignores variables for keys that have no default; an empty variable counts
// as set. A PODD_ variable that names no key is an error, as is an unknown
// key in the file: a misspelt safety key must never fall back to a default
// silently.
//
// Keys ignore case, as viper reads them, so one key has several spellings;
// it may be written once, in one of them. viper would keep one of the
// values silently, and a limit a technician tightened could be loosened by a
// second spelling further down. The loader reads the YAML tree
// (gopkg.in/yaml.v3) before viper reads the values, and reports a key written
// twice in any spelling (heart_rate_high_bpm and HEART_RATE_HIGH_BPM, safety
// and Safety, a key and its dotted form safety.heart_rate_high_bpm at the top
// level, or the same spelling twice) with each spelling and its line. A
// PODD_ variable overriding a key of the file is not a repetition. A section
// (pod, safety, ...) is a map of keys, or empty; a second YAML document,
// which viper would ignore, is an error.
//
// Invalid configuration is reported all at once, one line per problem, each
// naming the key, the value and what is allowed. A value that cannot be read
// (a list, .nan, a duration without a unit) is reported once; a check
// between keys (heart_rate_low_bpm below heart_rate_high_bpm) is left out
// when one of them has a problem of its own. Safety thresholds are checked
// against the hard bounds of package safety, which no configuration can
// loosen.
//
// Addresses are checked against what the parts that use them accept, so
// that a configuration the loader accepts never stops podd after it started.
// uplink.broker is "embedded", or one broker URL or a list of them (a YAML
// list, or comma-separated in PODD_UPLINK_BROKER), tried in order and then
// in turn: tcp://host:port or mqtt://host:port for plain MQTT over TCP,
// ssl://, tls:// or mqtts://host:port for MQTT over TLS, with nothing after
// the port. One list uses one transport: a plain broker among TLS ones would
// let whoever blocks the TLS ones move the vitals into the clear. The TLS
// brokers are checked against uplink.tls.ca (PEM; empty: the system's
// roots) under uplink.tls.server_name (empty: each broker's host); a client
// certificate is uplink.tls.cert with uplink.tls.key. uplink.username goes
// with a password read from the first line of uplink.password_file, never
// from the YAML. The loader reads these files, so a file that cannot be
// used stops podd at start with its name. uplink.require_hub (default
// false) makes a record leave the outbox only once the hub has receipted it,
// and holds the backlog while the hub is not online; uplink.receipt_timeout
// (default 30s, 5s..10m) is how long records sent and not receipted wait,
// with it, before they are sent again (package uplink, "The hub's receipts").
// The listen addresses (api.metrics_listen, uplink.embedded_listen) are
// host:port with a port from 1024 up, since podd runs unprivileged, and a
// host that binds without a name lookup on any machine: an IP address or
// localhost. The metrics are served on loopback only, and so is the
// embedded broker, a development aid with no authentication: on 0.0.0.0,
// [::] or an interface's address anyone on the network could read the
// sleeper's vitals and publish to the pod, so any of those is refused
// (run mosquitto with authentication for other machines). With the
// embedded broker, the metrics take another port.
// api.status_page (default false) serves the status page and its stream on
// the metrics listener too, so it needs api.metrics_listen.
// api.expose_vitals (default false) puts the sleeper's vitals on the page
// and in /metrics: any user of the machine can read a loopback port.
//
// The sleeper's buttons are hardware.consent_button and
// hardware.panic_button, each a GPIO line by its periph gpioreg name (e.g.
// GPIO17) or empty for none, and hardware.buttons_active_low (true: a
// button to ground with the line's pull-up; false: a button that drives the
// line high, with its pull-down); the two buttons need two lines.
// hardware.ack_button is the acknowledgement button (a GPIO line as the
// others, wired as hardware.buttons_active_low says, or empty for none; a
// line of its own) and hardware.ack_hold (3s, 1s..10s; the bounds are
// package controller's) how long it must be held down before it clears a
// latched abort, refused as any acknowledgement while an alarm condition
// is present. In sim mode the simulator's three lines are used whatever
// the button keys say; hardware.ack_hold applies.
// hardware.oximeter_leds_swapped (false) is for pulse oximeter boards whose
// LEDs are wired the other way round (some MAX30102 clones): a pod that
// reads an implausibly low SpO2 from a sleeper who is well reports a
// max30102 fault saying so.
//
// The sensor inventory (SensorsConfig) is sensors.<chip>.*:
// sensors.max30102.enabled (true; required) and .i2c_bus (empty: hardware.i2c_bus);
// sensors.ads1299.enabled (false), .spi_port (SPI1.0: not on the LED
// strip's bus, as an APA102 has no chip select), .drdy (GPIO25), .rate_hz
// (250 or 500), .gain (24: 1, 2, 4, 6, 8, 12, 24) and .channels (8: 1..8,
// from CH1); sensors.ads1115.enabled (false), .i2c_bus, .address (0x49,
// 0x48..0x4B), .channel (0: AIN0..AIN3), .rate_hz (4, 1..100), .supply_v
// (3.3, up to 5.5 V) and .ref_ohms (200000, 1 kΩ..100 MΩ): the skin
// conductance divider; sensors.tmp117.enabled (false), .i2c_bus,
// .address (0x48, 0x48..0x4B), .rate_hz (1: 1, 2 or 4) and .core_offset_c
// (0, 0..5 °C: the core temperature less the reading at the sensor's
// site, which the temperature rules add to the reading; refused when
// safety.temperature_low_c less 1 °C less it is below 30 °C, the lowest
// reading the thermometer's estimator takes for skin: temperature_low
// would not see a cold sleeper, see safety.CoreOffsetProblem). Addresses take
// 0x hex in YAML and in PODD_ variables. Two chips at one address of one
// bus, and DRDY on a button's line (the acknowledgement button's too), are
// refused. In sim mode every sensor
// is on the simulator's one I²C bus whatever its i2c_bus says, so two
// chips at one address clash there even on two buses (podd then stops
// with the simulator's "i2c address 0x49 already in use").
//
// The outputs (LightsConfig, HapticsConfig, DreamscapeConfig; README,
// "Light, haptics and dreamscapes"): lights.zones (a map of zone names, a-z
// 0-9 _ -, to {leds: "first-last"} of the strip or {pwm: [c]} / {pwm: [r,
// g, b]} PCA9685 channels 0..15; no LED or channel in two zones; default:
// canopy, the whole strip), lights.safe_color ("#ff8a3d", sRGB, not black),
// lights.safe_level (0.04, 0.005..0.2), lights.wake_level (0.3,
// safe_level..0.6), lights.wake_ramp (10m; 0 or 1m..1h), lights.max_slew
// (0.5, 0.01..0.5 of full scale a second), lights.pca9685.enabled (false),
// .i2c_bus, .address (0x40, 0x40..0x7F but 0x70), .frequency_hz (1526,
// 1250..1526: a lit channel is a 100 % square wave at this frequency) and
// .oe (its OE line, empty for none); haptics.places (a map of place names
// to {driver: drv2605} (one a pod: its address is fixed, 0x5A) or
// {driver: gpio, line: GPIOn}), haptics.drv2605.i2c_bus, .actuator (erm or
// lra) and .en (its EN line, empty for none), haptics.max_intensity (0.6,
// 0.05..0.8), haptics.duty_budget (0.2, 0.01..0.3 of the window) and
// haptics.duty_window (1m, 10s..10m); hardware.indicator_led (a GPIO line,
// empty for none); dreamscape.program (a file, empty for the steady ambient
// light; a relative path is read from the working directory) and
// dreamscape.rate_hz (50, 10..100 frames a second); sim.record_outputs (a
// file for the simulated outputs' record, empty for none; an existing file
// is replaced). In PODD_ variables lights.zones and haptics.places are YAML
// in flow style. An output line on a bus's pins or on another line's, and
// a PCA9685 at another chip's address, are refused.
//
// Merge sessions take session.baseline_duration (1m, 10s..5m: the sleeper's
// baseline captured before joining), session.ending_duration (1m, 5s..10m:
// the gentle wake) and session.consent_duration (12h, 1m..24h: how long a
// press of the consent button lasts); the bounds are package controller's.
//
// security.hub_keys is the hub's JWK Set (package hubcmd: Ed25519 public
// keys with their kids), read and checked at start; empty, the pod has no
// hub keys and accepts only merge/abort, which needs no signature.
//
// The outbox's bounds, storage.max_outbox_records (2..2000000, default
// 200000) and storage.max_outbox_bytes (64KiB..1GiB of stored records,
// default 96MiB), are journal.Options.MaxOutbox and MaxOutboxBytes; see
// there for what the defaults hold. A size is an integer of bytes, or an
// integer with a binary unit: B, KiB, MiB or GiB ("96MiB", "96 MiB"); any
// other spelling (12MB, 1.5GiB, 12 mib) is an error, not a guess.
//
// storage.max_audit_entries (100..1000000, default 20000) bounds the
// hash-chained audit log, journal.Options.MaxAuditEntries: beyond it the
// oldest entries are deleted. Config.Settings is the effective
// configuration, key by key, that the pod reports at start; it holds no
// secret (the configuration has none: only paths to the files that do).
//
// history.retention (1h..2160h, default 336h: 14 days) is how long the
// pod's own night history (a vitals point every 10 s and a copy of every
// event, never sent; journal's "History") is kept,
// journal.Options.HistoryRetention. Go durations only: "14d" is an error.
//
// Relative paths (storage.path, api.socket, sim.scenario) are kept as written
// and so resolve against the daemon's working directory, as the paths of
// most daemons do, not against the configuration file's directory. The
// shipped sim.yaml is meant to be used from the repository root.
package configs
