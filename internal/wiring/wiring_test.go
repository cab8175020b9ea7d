package wiring

import (
	"fmt"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sensors/eda"
	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sensors/tmp117"
)

// The shipped Raspberry Pi wiring (configs/pod.yaml) and keys changed from
// it give exactly these driver options.
func TestOptionsFromTheConfiguration(t *testing.T) {
	for _, c := range []struct {
		env     []string
		ox      max30102.Opts
		eeg     ads1299.Opts
		skin    ads1115.Opts
		circuit eda.Divider
		temp    tmp117.Opts
	}{
		{
			env:     nil,
			ox:      max30102.Opts{SampleRate: 100 * physic.Hertz, Averaging: 4, PulseWidth: 411 * time.Microsecond, ADCRange: 4096 * physic.NanoAmpere, RedCurrent: 7 * physic.MilliAmpere, IRCurrent: 7 * physic.MilliAmpere},
			eeg:     ads1299.Opts{RateHz: 250, Gain: 24, Channels: 8, Speed: 2 * physic.MegaHertz, LeadOff: true},
			skin:    ads1115.Opts{Addr: 0x49, Channel: 0, FullScaleV: 4.096, RateSPS: 128},
			circuit: eda.Divider{SupplyV: 3.3, RefOhms: 200000},
			temp:    tmp117.Opts{Addr: 0x48, Averaging: 8, ConversionCycle: time.Second},
		},
		{
			env: []string{"PODD_HARDWARE_OXIMETER_LEDS_SWAPPED=true", "PODD_SENSORS_ADS1299_RATE_HZ=500", "PODD_SENSORS_ADS1299_GAIN=12",
				"PODD_SENSORS_ADS1299_CHANNELS=4", "PODD_SENSORS_ADS1115_ADDRESS=0x4a", "PODD_SENSORS_ADS1115_CHANNEL=2",
				"PODD_SENSORS_ADS1115_SUPPLY_V=5", "PODD_SENSORS_ADS1115_REF_OHMS=100000", "PODD_SENSORS_TMP117_ADDRESS=0x4b", "PODD_SENSORS_TMP117_RATE_HZ=4"},
			ox:      max30102.Opts{SampleRate: 100 * physic.Hertz, Averaging: 4, PulseWidth: 411 * time.Microsecond, ADCRange: 4096 * physic.NanoAmpere, RedCurrent: 7 * physic.MilliAmpere, IRCurrent: 7 * physic.MilliAmpere, SwapRedIR: true},
			eeg:     ads1299.Opts{RateHz: 500, Gain: 12, Channels: 4, Speed: 2 * physic.MegaHertz, LeadOff: true},
			skin:    ads1115.Opts{Addr: 0x4A, Channel: 2, FullScaleV: 6.144, RateSPS: 128},
			circuit: eda.Divider{SupplyV: 5, RefOhms: 100000},
			temp:    tmp117.Opts{Addr: 0x4B, Averaging: 8, ConversionCycle: 250 * time.Millisecond},
		},
	} {
		cfg, err := configs.Load("../../configs/pod.yaml", c.env)
		if err != nil {
			t.Fatal(err)
		}
		if got := MAX30102(cfg); got != c.ox {
			t.Errorf("%v: MAX30102 = %+v, want %+v", c.env, got, c.ox)
		}
		if got := ADS1299(cfg); fmt.Sprint(got) != fmt.Sprint(c.eeg) {
			t.Errorf("%v: ADS1299 = %+v, want %+v", c.env, got, c.eeg)
		}
		if got, circuit := ADS1115(cfg); got != c.skin || circuit != c.circuit {
			t.Errorf("%v: ADS1115 = %+v, %+v; want %+v, %+v", c.env, got, circuit, c.skin, c.circuit)
		}
		if got := TMP117(cfg); got != c.temp {
			t.Errorf("%v: TMP117 = %+v, want %+v", c.env, got, c.temp)
		}
	}
}
