package configs

import "testing"

// A thermometer's core offset is accepted with a temperature_low_c that
// still sees a core 1 °C below it at the sensor's site: at the boundary
// (a reading of 30.0 °C, in decimals that are not exact in binary) and
// with the offset's largest value and the limit's.
func TestCoreOffsetAcceptedWhereTemperatureLowSeesIt(t *testing.T) {
	for _, env := range [][]string{
		{"PODD_SENSORS_TMP117_CORE_OFFSET_C=4.3", "PODD_SAFETY_TEMPERATURE_LOW_C=35.3"},
		{"PODD_SENSORS_TMP117_CORE_OFFSET_C=4"},
		{"PODD_SENSORS_TMP117_CORE_OFFSET_C=5", "PODD_SAFETY_TEMPERATURE_LOW_C=36"},
	} {
		c, err := Parse([]byte(minimal), env)
		if err != nil {
			t.Errorf("%v: %v", env, err)
			continue
		}
		if c.Sensors.TMP117.CoreOffsetC == 0 {
			t.Errorf("%v: the offset was not read", env)
		}
	}
}
