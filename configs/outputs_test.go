package configs

import (
	"reflect"
	"testing"
)

// Every wrong zone, place or output line gives its own line naming the key
// and what to do; nothing else is reported.
func TestOutputProblems(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"zone overlap", "lights:\n  zones: {a: {leds: 0-9}, b: {leds: 5-20}}\n",
			`lights.zones: zone "b": LED 5 is also in zone "a": a LED belongs to one zone`},
		{"zone beyond the strip", "lights:\n  zones: {a: {leds: 50-60}}\n",
			`lights.zones: zone "a": LEDs 50-60 are not within the strip's 0-59 (hardware.led_count 60)`},
		{"zone reversed", "lights:\n  zones: {a: {leds: 9-3}}\n",
			`lights.zones: zone "a": LEDs 9-3 are not within the strip's 0-59 (hardware.led_count 60)`},
		{"zone with both", "lights:\n  zones: {a: {leds: 0-9, pwm: [1]}}\n",
			`lights.zones: zone "a": give either leds ("first-last" of the strip) or pwm (PCA9685 channels)`},
		{"zone with an unknown key", "lights:\n  zones: {a: {led: 0-9}}\n",
			"lights.zones: zone \"a\": unknown key \"led\" (a zone has leds or pwm)\nlights.zones: zone \"a\": give either leds (\"first-last\" of the strip) or pwm (PCA9685 channels)"},
		{"zone name", "lights:\n  zones: {9a: {leds: 0-9}}\n",
			`lights.zones: "9a" is not a zone name: 1 to 32 characters of a-z, 0-9, _ and -, starting with a letter`},
		{"pwm without the chip", "lights:\n  zones: {a: {leds: 0-9}, b: {pwm: [0, 1, 2]}}\n",
			`lights.zones: zone "b": pwm channels need the PCA9685 (lights.pca9685.enabled: true)`},
		{"pwm of two channels", "lights:\n  pca9685: {enabled: true}\n  zones: {b: {pwm: [0, 1]}}\n",
			`lights.zones: zone "b": pwm has 2 channels: give one (a one-colour light) or three (red, green, blue)`},
		{"pwm channel twice", "lights:\n  pca9685: {enabled: true}\n  zones: {b: {pwm: [0, 1, 2]}, c: {pwm: [2]}}\n",
			`lights.zones: zone "c": pwm channel 2 is also in zone "b"`},
		{"pwm channel 16", "lights:\n  pca9685: {enabled: true}\n  zones: {b: {pwm: [16]}}\n",
			`lights.zones: zone "b": pwm channel 16 is outside 0..15`},
		{"not a map", "lights:\n  zones: [canopy]\n",
			`lights.zones: ["canopy"] is not a map of zone names to their wiring`},
		{"safe colour", "lights:\n  safe_color: orange\n",
			`lights.safe_color: colour "orange": want #rrggbb`},
		{"wake below safe", "lights:\n  safe_level: 0.1\n  wake_level: 0.05\n",
			"lights.wake_level: 0.05 is outside lights.safe_level..0.6 (0.1..0.6)"},
		{"wake ramp", "lights:\n  wake_ramp: 10s\n",
			"lights.wake_ramp: 10s is outside 1m0s..1h0m0s (or 0 for none)"},
		{"pca9685 on the oximeter's address", "lights:\n  pca9685: {enabled: true, address: 0x57}\n",
			`lights.pca9685.address: 0x57 is also sensors.max30102's address on I2C bus "1": strap the PCA9685 to another address (A0-A5)`},
		{"oe on the I2C pins", "lights:\n  pca9685: {enabled: true, oe: GPIO3}\n",
			`lights.pca9685.oe: "GPIO3" is a line of I2C bus 1 on a Raspberry Pi: an output needs a free GPIO line`},
		{"motor on the panic button", "haptics:\n  places: {feet: {driver: gpio, line: GPIO27}}\n",
			`haptics.places: "GPIO27" is also hardware.panic_button`},
		{"two drv2605", "haptics:\n  places: {a: {driver: drv2605}, b: {driver: drv2605}}\n",
			`haptics.places: place "b": a second drv2605: the DRV2605L has one fixed address (0x5A), so a pod has one`},
		{"gpio motor without a line", "haptics:\n  places: {feet: {driver: gpio}}\n",
			`haptics.places: place "feet": a gpio motor needs its line (e.g. line: GPIO5)`},
		{"unknown driver", "haptics:\n  places: {feet: {driver: solenoid}}\n",
			`haptics.places: place "feet": driver "solenoid" is not drv2605 or gpio`},
		{"indicator on the motor's line", "haptics:\n  places: {feet: {driver: gpio, line: GPIO12}}\n",
			`hardware.indicator_led: "GPIO12" is also place "feet"'s motor line (from PODD_HARDWARE_INDICATOR_LED)`},
		{"en on the I2C pins", "haptics:\n  places: {back: {driver: drv2605}}\n  drv2605: {en: GPIO2}\n",
			`haptics.drv2605.en: "GPIO2" is a line of I2C bus 1 on a Raspberry Pi: an output needs a free GPIO line`},
		{"en on the panic button", "haptics:\n  places: {back: {driver: drv2605}}\n  drv2605: {en: GPIO27}\n",
			`haptics.drv2605.en: "GPIO27" is also hardware.panic_button`},
		{"en on the pca9685's oe", "lights:\n  pca9685: {enabled: true, oe: GPIO6}\nhaptics:\n  places: {back: {driver: drv2605}}\n  drv2605: {en: GPIO6}\n",
			`haptics.drv2605.en: "GPIO6" is also lights.pca9685.oe`},
		{"en on a motor's line", "haptics:\n  places: {back: {driver: drv2605}, feet: {driver: gpio, line: GPIO5}}\n  drv2605: {en: GPIO5}\n",
			`haptics.drv2605.en: "GPIO5" is also place "feet"'s motor line`},
		{"indicator on en", "haptics:\n  places: {back: {driver: drv2605}}\n  drv2605: {en: GPIO12}\n",
			`hardware.indicator_led: "GPIO12" is also haptics.drv2605.en (from PODD_HARDWARE_INDICATOR_LED)`},
		{"actuator", "haptics:\n  drv2605: {actuator: piezo}\n",
			`haptics.drv2605.actuator: "piezo" is not erm (eccentric rotating mass) or lra (linear resonant actuator)`},
	} {
		_, err := Parse([]byte(minimal+tc.yaml), []string{"PODD_HARDWARE_PANIC_BUTTON=GPIO27", "PODD_HARDWARE_INDICATOR_LED=GPIO12"})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: Parse = %v\nwant %s", tc.name, err, tc.want)
		}
	}
}

func TestZonesFromTheEnvironmentMustBeAMap(t *testing.T) {
	_, err := Parse([]byte(minimal), []string{"PODD_LIGHTS_ZONES=canopy"})
	want := `lights.zones: "canopy" is not a map of zone names to their wiring (in the environment, YAML such as "{canopy: {leds: 0-29}, floor: {pwm: [0, 1, 2]}}") (from PODD_LIGHTS_ZONES)`
	if err == nil || err.Error() != want {
		t.Errorf("Parse = %v\nwant %s", err, want)
	}
}

func TestOutputsAsWritten(t *testing.T) {
	c, err := Parse([]byte(minimal+`lights:
  pca9685: {enabled: true, oe: GPIO6}
  zones:
    sides: {leds: 40-59}
    canopy: {leds: "0-39"}
    floor: {pwm: [0, 1, 2]}
    lamp: {pwm: [3]}
haptics:
  places:
    feet: {driver: gpio, line: GPIO5}
    back: {driver: drv2605}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []ZoneConfig{{Name: "canopy", First: 0, Count: 40}, {Name: "floor", PWM: []int{0, 1, 2}}, {Name: "lamp", PWM: []int{3}}, {Name: "sides", First: 40, Count: 20}}
	if !reflect.DeepEqual(c.Lights.Zones, want) {
		t.Errorf("zones %+v, want %+v", c.Lights.Zones, want)
	}
	places := []PlaceConfig{{Name: "back", Driver: "drv2605"}, {Name: "feet", Driver: "gpio", Line: "GPIO5"}}
	if !reflect.DeepEqual(c.Haptics.Places, places) {
		t.Errorf("places %+v, want %+v", c.Haptics.Places, places)
	}
}
