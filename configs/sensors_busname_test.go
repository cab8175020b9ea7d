package configs

import (
	"strings"
	"testing"
)

// periph registers I²C bus 1 as "/dev/i2c-1", alias "I2C1", number 1:
// i2creg.Open takes any of them. Two chips at 0x48, one on hardware.i2c_bus "1"
// and one on i2c_bus "I2C1", are on one bus and must be refused as a
// clash, as they are when both say "1".
func TestSensorClashAcrossNamesOfOneBus(t *testing.T) {
	_, err := Parse([]byte(minimal+`
sensors:
  ads1115: {enabled: true, address: 0x48}
  tmp117: {enabled: true, address: 0x48, i2c_bus: I2C1}
`), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "sensors.tmp117.address: 0x48 is also sensors.ads1115's address") {
		t.Errorf("Parse = %v, want the clash of the TMP117 and the ADS1115 at 0x48 on bus 1", err)
	}
}

// periph registers SPI0's chip select 1 as "/dev/spidev0.1", alias
// "SPI0.1". The EEG named by its device path on the strip's bus (SPI0.0)
// is on that bus all the same, and must be refused as "SPI0.1" is.
func TestEEGOnTheStripsBusByItsDevicePath(t *testing.T) {
	_, err := Parse([]byte(minimal+`
sensors:
  ads1299: {enabled: true, spi_port: /dev/spidev0.1}
`), nil)
	if err == nil || !strings.HasPrefix(err.Error(), `sensors.ads1299.spi_port: "/dev/spidev0.1" is on the LED strip's SPI bus (hardware.spi_port "SPI0.0")`) {
		t.Errorf("Parse = %v, want the EEG refused on the strip's bus", err)
	}
}
