package main

import (
	"fmt"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/spi"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/internal/wiring"
	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sensors/tmp117"
)

// sensorBuses are what the biometric sensors besides the oximeter are
// wired to: the I²C bus of a configured name (key is the configuration key
// that names it, for errors, which name the key), and the EEG's SPI port
// and DRDY line (nil when no EEG is configured).
type sensorBuses struct {
	i2c     func(key, name string) (i2c.Bus, error)
	eegPort spi.Port
	drdy    gpio.PinIn
}

// biometricSensors builds the configuration's sensors besides the pulse
// oximeter, each opening its chip on its bus (sensors.*).
func biometricSensors(cfg *configs.Config, b sensorBuses) ([]sensing.Sensor, error) {
	s := cfg.Sensors
	var out []sensing.Sensor
	if s.ADS1299.Enabled {
		if b.eegPort == nil || b.drdy == nil {
			return nil, fmt.Errorf("sensors.ads1299: no SPI port or DRDY line")
		}
		opts := wiring.ADS1299(cfg)
		var (
			conn spi.Conn
			dev  *ads1299.Dev
		)
		// periph's ports connect once: the port is connected at the first
		// open, and a chip that does not answer (unplugged at start) or
		// was lost is started again on that connection.
		open := func() (*ads1299.Dev, error) {
			if dev != nil {
				if err := dev.Restart(); err != nil {
					return nil, err
				}
				return dev, nil
			}
			if conn == nil {
				c, err := ads1299.Connect(b.eegPort, &opts)
				if err != nil {
					return nil, err
				}
				conn = c
			}
			d, err := ads1299.NewConn(conn, b.drdy, &opts)
			if err != nil {
				return nil, err
			}
			dev = d
			return d, nil
		}
		sn, err := sensing.EEG(open, s.ADS1299.Channels, s.ADS1299.RateHz, s.ADS1299.Gain)
		if err != nil {
			return nil, fmt.Errorf("sensors.ads1299: %w", err)
		}
		out = append(out, sn)
	}
	if s.ADS1115.Enabled {
		bus, err := b.i2c("sensors.ads1115.i2c_bus", cfg.Bus(s.ADS1115.I2CBus))
		if err != nil {
			return nil, err
		}
		opts, circuit := wiring.ADS1115(cfg)
		sn, err := sensing.SkinConductance(func() (*ads1115.Dev, error) { return ads1115.New(bus, &opts) }, circuit, s.ADS1115.RateHz)
		if err != nil {
			return nil, fmt.Errorf("sensors.ads1115: %w", err)
		}
		out = append(out, sn)
	}
	if s.TMP117.Enabled {
		bus, err := b.i2c("sensors.tmp117.i2c_bus", cfg.Bus(s.TMP117.I2CBus))
		if err != nil {
			return nil, err
		}
		opts := wiring.TMP117(cfg)
		sn, err := sensing.Thermometer(func() (*tmp117.Dev, error) { return tmp117.New(bus, &opts) }, s.TMP117.RateHz)
		if err != nil {
			return nil, fmt.Errorf("sensors.tmp117: %w", err)
		}
		out = append(out, sn)
	}
	return out, nil
}
