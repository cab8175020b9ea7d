package configs

import (
	"reflect"
	"testing"
)

// The inventory's problems between keys: each names both keys and what to
// change.
func TestSensorInventoryProblems(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"ADS1115 and TMP117 both at 0x48", `
sensors:
  ads1115: {enabled: true, address: 0x48}
  tmp117: {enabled: true}
`, `sensors.tmp117.address: 0x48 is also sensors.ads1115's address on I2C bus "1": strap one of them to another address (the ADS1115 and the TMP117 both default to 0x48)`},
		{"an address the chip cannot strap", `
sensors:
  tmp117: {enabled: true, address: 0x40}
`, `sensors.tmp117.address: 0x40 is outside 0x48..0x4B, the addresses the chip's address pin selects`},
		{"the EEG on the LED strip's bus", `
sensors:
  ads1299: {enabled: true, spi_port: SPI0.1}
`, `sensors.ads1299.spi_port: "SPI0.1" is on the LED strip's SPI bus (hardware.spi_port "SPI0.0"): an APA102 strip has no chip select and takes every transfer on its bus as LED data; put the EEG front end on another bus (e.g. SPI1.0)`},
		{"DRDY on the panic button's line", `
hardware:
  mode: linux
  panic_button: GPIO25
sensors:
  ads1299: {enabled: true}
`, `sensors.ads1299.drdy: "GPIO25" is also hardware.panic_button: DRDY needs its own line`},
		{"no DRDY line", `
sensors:
  ads1299: {enabled: true, drdy: ""}
`, `sensors.ads1299.drdy: "" is not a GPIO line: the ADS1299 says when a frame is ready on its DRDY line (e.g. "GPIO25")`},
		{"a supply the ADS1115 cannot take", `
sensors:
  ads1115: {enabled: true, supply_v: 12}
`, `sensors.ads1115.supply_v: 12 is outside (0, 5.5] V: the ADS1115's supply range`},
		{"no pulse oximeter", `
sensors:
  max30102: {enabled: false}
`, `sensors.max30102.enabled: false: the pulse oximeter is required (the safety watchdog's heart rate and SpO2 come from it)`},
		{"a reference resistor of nothing", `
sensors:
  ads1115: {enabled: true, ref_ohms: 0}
`, `sensors.ads1115.ref_ohms: 0 is outside 1 kΩ..100 MΩ`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := minimal + tc.yaml
			if tc.yaml[1:9] == "hardware" {
				doc = "pod:\n  id: pod-7\nuplink:\n  broker: tcp://hub.local:1883\nstorage:\n  path: /var/lib/podd/podd.db\napi:\n  socket: /run/podd/podd.sock\n" + tc.yaml
			}
			_, err := Parse([]byte(doc), nil)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Parse = %v\nwant %q", err, tc.want)
			}
		})
	}
}

// Two chips at one address on different buses do not clash, and a sensor
// without its own bus is on hardware.i2c_bus.
func TestSensorsOnTheirOwnBuses(t *testing.T) {
	c, err := Parse([]byte(minimal+`
sensors:
  ads1115: {enabled: true, address: 0x48, i2c_bus: "3"}
  tmp117: {enabled: true, address: 0x48}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Bus(c.Sensors.ADS1115.I2CBus); got != "3" {
		t.Errorf("ADS1115 on bus %q, want 3", got)
	}
	if got := c.Bus(c.Sensors.TMP117.I2CBus); got != "1" {
		t.Errorf("TMP117 on bus %q, want hardware.i2c_bus (1)", got)
	}
	if got := c.Sensors.Enabled(); !reflect.DeepEqual(got, []string{"max30102", "ads1115", "tmp117"}) {
		t.Errorf("Enabled = %v", got)
	}
}

// A disabled sensor's wiring is not checked against the others: a pod
// without an EEG front end may leave its keys at their defaults.
func TestDisabledSensorsDoNotClash(t *testing.T) {
	if _, err := Parse([]byte(minimal+`
sensors:
  ads1115: {address: 0x48}
`), nil); err != nil {
		t.Fatal(err)
	}
}
