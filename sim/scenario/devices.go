package scenario

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// The devices a fault step can name: the simulated chips with a fault
// injection point on their bus.
const (
	DeviceMAX30102 = "max30102" // pulse oximeter, I²C
	DeviceAPA102   = "apa102"   // LED strip, SPI
	DeviceADS1299  = "ads1299"  // EEG front end, 8 channels, SPI
	DeviceADS1115  = "ads1115"  // ADC of the skin conductance circuit, I²C
	DeviceTMP117   = "tmp117"   // body temperature, I²C
)

// The faults a device can have. They are the same words as sim.Fault, kept as
// plain strings so that this package does not depend on the bus it drives.
const (
	// FaultNACK: the chip does not acknowledge its address (I²C) or
	// answers nothing (SPI).
	FaultNACK = "nack"
	// FaultStuck: the chip answers, but its readings stop changing.
	FaultStuck = "stuck"
	// FaultDisconnect: the chip is gone from the bus.
	FaultDisconnect = "disconnect"
	// FaultLeadOff (ads1299 only): electrodes lose skin contact; the
	// chip's lead-off bits report the channels of Fault.Channels and their
	// signal is lost.
	FaultLeadOff = "lead_off"
	// FaultSaturate (ads1299, ads1115, max30102): the converter reads its
	// full scale, as with an electrode drifting to the rail, a shorted
	// skin conductance circuit or ambient light flooding the photodiode.
	FaultSaturate = "saturate"
)

// The buttons a press step can press: the sleeper's consent and panic
// buttons, and the pod's acknowledgement button (held long enough to
// acknowledge, see sim.HardwareOpts.AckPressHold).
const (
	PressConsent = "consent"
	PressPanic   = "panic"
	PressAck     = "ack"
)

var (
	devices    = []string{DeviceMAX30102, DeviceAPA102, DeviceADS1299, DeviceADS1115, DeviceTMP117}
	faultKinds = []string{FaultNACK, FaultStuck, FaultDisconnect, FaultLeadOff, FaultSaturate}
	pressKinds = []string{PressConsent, PressPanic, PressAck}
	// deviceFaults lists, per device, the fault kinds that apply to it.
	deviceFaults = map[string][]string{
		DeviceMAX30102: {FaultNACK, FaultStuck, FaultDisconnect, FaultSaturate},
		DeviceAPA102:   {FaultNACK, FaultStuck, FaultDisconnect},
		DeviceADS1299:  {FaultNACK, FaultStuck, FaultDisconnect, FaultLeadOff, FaultSaturate},
		DeviceADS1115:  {FaultNACK, FaultStuck, FaultDisconnect, FaultSaturate},
		DeviceTMP117:   {FaultNACK, FaultStuck, FaultDisconnect},
	}
)

// Devices returns the device names a fault step may name, so that the
// simulator can check that it hosts a model for each. The slice is a copy.
func Devices() []string { return slices.Clone(devices) }

// FaultKinds returns the fault kinds a fault step may inject, on one device
// or another. The slice is a copy.
func FaultKinds() []string { return slices.Clone(faultKinds) }

// FaultKindsOf returns the fault kinds that apply to device, nil for a
// device not in Devices(). The slice is a copy.
func FaultKindsOf(device string) []string { return slices.Clone(deviceFaults[device]) }

// PressKinds returns the buttons a press step may press. The slice is a copy.
func PressKinds() []string { return slices.Clone(pressKinds) }

// NumChannels is the number of EEG channels of the ADS1299.
const NumChannels = 8

// Channels is a set of ADS1299 channels: bit n-1 stands for channel n
// (1..NumChannels), as in the chip's LOFF_STATP register.
type Channels uint8

// AllChannels is every channel, what a lead_off fault without `channels`
// takes off.
const AllChannels Channels = 1<<NumChannels - 1

// Has reports whether channel n (1..NumChannels) is in the set.
func (c Channels) Has(n int) bool { return n >= 1 && n <= NumChannels && c&(1<<(n-1)) != 0 }

// Len returns the number of channels in the set.
func (c Channels) Len() int { return bits.OnesCount8(uint8(c)) }

// String lists the channels as the scenario file writes them, e.g. "[1, 3]".
func (c Channels) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for n := 1; n <= NumChannels; n++ {
		if c.Has(n) {
			if b.Len() > 1 {
				b.WriteString(", ")
			}
			fmt.Fprint(&b, n)
		}
	}
	b.WriteByte(']')
	return b.String()
}
