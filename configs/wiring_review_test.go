package configs

import (
	"strings"
	"testing"
)

// Wirings that validate but cannot work on a Raspberry Pi. What is wrong:
// the bus checks compare the configured names as strings, while periph
// names one SPI port "SPI0.1", "/dev/spidev0.1" (its registered name) and
// (for chip select 0) its bus number "0", and one I2C bus "1", "I2C1" and
// "/dev/i2c-1"; and the DRDY line is checked against the buttons only, not
// against the pins the buses it shares the header with use. So the EEG
// front end can be put on the LED strip's SPI bus (an APA102 takes every
// transfer on its bus as LED data: EEG commands flash the sleeper's light,
// and the strip's dark frames reach the ADS1299), two chips at 0x48 on one
// I2C bus pass the address check, and DRDY can take the strip's MOSI line
// (GPIO10), so the strip's safe state (a dark frame) is never clocked out.
// Correct: resolve each name to its bus (SPIn / /dev/spidevN.M / N, and
// n / I2Cn / /dev/i2c-n) before comparing, and refuse a DRDY on a line a
// configured bus uses (SPI0: GPIO7-11; SPI1: GPIO16-21; I2C1: GPIO2, 3).
func TestReviewWiringThatCannotWorkIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, key string
	}{
		{"the EEG on the strip's bus by its /dev name", `
sensors:
  ads1299: {enabled: true, spi_port: /dev/spidev0.1}
`, "sensors.ads1299.spi_port"},
		{"the EEG on the strip's own port by its number", `
sensors:
  ads1299: {enabled: true, spi_port: "0"}
`, "sensors.ads1299.spi_port"},
		{"two chips at 0x48 on I2C bus 1 by two of its names", `
sensors:
  ads1115: {enabled: true, address: 0x48, i2c_bus: I2C1}
  tmp117: {enabled: true, address: 0x48}
`, "sensors.tmp117.address"},
		{"DRDY on the LED strip's MOSI line", `
sensors:
  ads1299: {enabled: true, drdy: GPIO10}
`, "sensors.ads1299.drdy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal+tc.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Errorf("Parse = %v, want an error naming %s", err, tc.key)
			}
		})
	}
}
