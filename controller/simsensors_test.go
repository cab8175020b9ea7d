package controller

import (
	"testing"
	"time"

	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sensors/eda"
	"github.com/sleegation/podd/sensors/tmp117"
	"github.com/sleegation/podd/sim"
)

// The simulated pod's biometric sensors besides the oximeter, by chip.
const (
	chipEEG    = "ads1299"
	chipSkin   = "ads1115"
	chipThermo = "tmp117"
)

var allSimSensors = []string{chipEEG, chipSkin, chipThermo}

// simSensors builds the sensors named (chipEEG, chipSkin, chipThermo) on
// the simulated pod's buses as cmd/podd's biometricSensors builds them
// from configs/sim.yaml with the configuration's defaults: the EEG's 8
// channels at 250 sps and gain 24 on its own SPI port and DRDY line,
// restarted on that port after a loss; the skin conductance ADC at 0x49,
// 4 conversions a second, on the 3.3 V, 200 kΩ divider (its 4.096 V
// range); the thermometer at 0x48, one conversion a second.
func simSensors(t *testing.T, hw *sim.Hardware, chips []string) []sensing.Sensor {
	t.Helper()
	var out []sensing.Sensor
	for _, chip := range chips {
		var s sensing.Sensor
		var err error
		switch chip {
		case chipEEG:
			opts := ads1299.DefaultOpts()
			opts.RateHz, opts.Gain, opts.Channels = 250, 24, 8
			var dev *ads1299.Dev
			open := func() (*ads1299.Dev, error) {
				if dev != nil {
					if err := dev.Restart(); err != nil {
						return nil, err
					}
					return dev, nil
				}
				d, err := ads1299.New(hw.EEGPort, hw.DRDY, &opts)
				if err != nil {
					return nil, err
				}
				dev = d
				return d, nil
			}
			s, err = sensing.EEG(open, 8, 250, 24)
		case chipSkin:
			opts := ads1115.DefaultOpts
			opts.Addr, opts.Channel, opts.FullScaleV = 0x49, 0, 4.096
			s, err = sensing.SkinConductance(func() (*ads1115.Dev, error) { return ads1115.New(hw.I2C, &opts) }, eda.DefaultDivider, 4)
		case chipThermo:
			opts := tmp117.DefaultOpts
			opts.Addr, opts.ConversionCycle = 0x48, time.Second
			s, err = sensing.Thermometer(func() (*tmp117.Dev, error) { return tmp117.New(hw.I2C, &opts) }, 1)
		default:
			t.Fatalf("simSensors: no chip %q", chip)
		}
		if err != nil {
			t.Fatalf("simSensors %s: %v", chip, err)
		}
		out = append(out, s)
	}
	return out
}
