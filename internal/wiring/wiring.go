// Package wiring owns how the pod's configuration sets up each biometric
// chip: the driver options of the MAX30102, ADS1299, ADS1115 and TMP117
// (and the ADS1115's measuring circuit) from the keys of configs.Config.
// podd (cmd/podd) and podctl's direct checks (internal/doctor) both open
// the chips with these, so that a check reads a chip exactly as the pod
// does.
package wiring

import (
	"time"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sensors/eda"
	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sensors/tmp117"
)

// MAX30102 is the pulse oximeter's options: the driver's defaults with
// hardware.oximeter_leds_swapped.
func MAX30102(cfg *configs.Config) max30102.Opts {
	o := max30102.DefaultOpts
	o.SwapRedIR = cfg.Hardware.OximeterLEDsSwapped
	return o
}

// ADS1299 is the EEG's options: the driver's defaults with
// sensors.ads1299's rate_hz, gain and channels.
func ADS1299(cfg *configs.Config) ads1299.Opts {
	s := cfg.Sensors.ADS1299
	o := ads1299.DefaultOpts()
	o.RateHz, o.Gain, o.Channels = s.RateHz, s.Gain, s.Channels
	return o
}

// ADS1115 is the skin conductance ADC's options and the measuring circuit
// its input reads: sensors.ads1115's address and channel, the full scale
// that covers its supply_v (ads1115.FullScaleFor), and the divider of
// supply_v and ref_ohms (eda.Divider).
func ADS1115(cfg *configs.Config) (ads1115.Opts, eda.Divider) {
	s := cfg.Sensors.ADS1115
	o := ads1115.DefaultOpts
	o.Addr, o.Channel = uint16(s.Address), s.Channel
	o.FullScaleV = ads1115.FullScaleFor(s.SupplyV)
	return o, eda.Divider{SupplyV: s.SupplyV, RefOhms: s.RefOhms}
}

// TMP117 is the thermometer's options: sensors.tmp117's address, and a
// conversion cycle of 1/rate_hz.
func TMP117(cfg *configs.Config) tmp117.Opts {
	s := cfg.Sensors.TMP117
	o := tmp117.DefaultOpts
	o.Addr = uint16(s.Address)
	o.ConversionCycle = time.Second / time.Duration(s.RateHz)
	return o
}
