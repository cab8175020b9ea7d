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
