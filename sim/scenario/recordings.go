package scenario

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sleegation/podd/sim/playback"
)

// Recording is a `playback` entry: a device whose signal comes from a
// recording instead of the scenario's vitals.
type Recording struct {
	Device string  // one of PlaybackDevices()
	File   string  // as the scenario writes it
	Path   string  // File resolved against the scenario file's directory
	RateHz float64 // the rows' rate; 0 when the file has a t column
	Loop   bool    // repeat the recording after its last row
	// Offset is added to every value, in the file's units (`offset`): a
	// recording played at another level than it was taken.
	Offset float64
}

// The slots of a playback.Sample, per device: which column of the file
// each holds. An ads1299 recording's channel n (column chn, µV) is in slot
// n-1.
const (
	PlaybackIR    = 0 // max30102: column ir, the infrared LED's counts (required)
	PlaybackRed   = 1 // max30102: column red, the red LED's counts (optional)
	PlaybackEDAUS = 0 // ads1115: column eda_us, skin conductance in µS (required)
	PlaybackTempC = 0 // tmp117: column temp_c, temperature in °C (required)
)

// playbackSpecs lists the devices that play a recording and the columns
// their files have, in slot order.
var playbackSpecs = map[string]struct{ columns, required []string }{
	DeviceMAX30102: {columns: []string{"ir", "red"}, required: []string{"ir"}},
	DeviceADS1299:  {columns: []string{"ch1", "ch2", "ch3", "ch4", "ch5", "ch6", "ch7", "ch8"}},
	DeviceADS1115:  {columns: []string{"eda_us"}, required: []string{"eda_us"}},
	DeviceTMP117:   {columns: []string{"temp_c"}, required: []string{"temp_c"}},
}

// playbackDevices are the keys of playbackSpecs in the order of devices:
// the sensors; the LED strip is an output and plays nothing.
var playbackDevices = func() []string {
	var out []string
	for _, d := range devices {
		if _, ok := playbackSpecs[d]; ok {
			out = append(out, d)
		}
	}
	return out
}()

// PlaybackDevices returns the devices a `playback` entry may name. The slice
// is a copy.
func PlaybackDevices() []string { return slices.Clone(playbackDevices) }

// PlaybackColumns returns the columns a recording of device may have, in
// slot order (see PlaybackIR and the others); nil for a device that plays
// no recording. The slice is a copy.
func PlaybackColumns(device string) []string { return slices.Clone(playbackSpecs[device].columns) }

// Playback returns the recording that replaces device's signal, nil when
// the scenario plays none for it.
//
// What the consumer (the device's model) does with it:
//   - It asks At with the time since the start for every sample it makes,
//     at its own rate: At interpolates between the file's rows.
//   - ok = false (the recording ended, without loop) means the device is
//     unplugged from then on: the hardware maps it to a FaultDisconnect on
//     the device's bus, whatever FaultAt says.
//   - Values are in the file's units: a max30102 model scales ir (and red)
//     counts to its ADC's range and pulse amplitude; an ads1299 model
//     converts µV to codes by its gain, channels the file lacks (Has) keep
//     their synthetic signal; ads1115 and tmp117 models encode µS and °C as
//     their chips do.
//   - A max30102 recording without red (one wavelength, Has(PlaybackRed) is
//     false) gets a red channel from the model: the IR waveform scaled so
//     that the ratio of ratios R = (AC_red/DC_red) / (AC_ir/DC_ir) is the
//     one the model's calibration gives for VitalsAt(d).SpO2Pct. With a red
//     column, both play as recorded and the scenario's SpO2 is not used.
//   - Faults and events of the timeline still apply on top of a recording.
func (s *Scenario) Playback(device string) *playback.Playback {
	return s.mustPlan().playback[device]
}

// playbackOpts returns the options of a recording of device.
func playbackOpts(device string, rateHz float64, loop bool, offset float64) playback.Options {
	spec := playbackSpecs[device]
	return playback.Options{Device: device, Columns: spec.columns, Required: spec.required, RateHz: rateHz, Loop: loop, Offset: offset}
}

// recordings validates the `playback` list and loads each file, relative
// paths against dir.
func (c *checker) recordings(docs []playbackDoc, dir string) ([]Recording, map[string]*playback.Playback) {
	var recs []Recording
	loaded := map[string]*playback.Playback{}
	first := map[string]int{} // device -> its entry
	for i, pd := range docs {
		path := fmt.Sprintf("playback[%d]", i)
		var r Recording
		ok := true
		switch {
		case pd.Device == nil:
			c.bad(path+".device", "missing (one of %s)", strings.Join(playbackDevices, ", "))
			ok = false
		case !slices.Contains(playbackDevices, *pd.Device):
			c.bad(path+".device", "%q does not play a recording (one of %s)", *pd.Device, strings.Join(playbackDevices, ", "))
			ok = false
		default:
			r.Device = *pd.Device
			if j, dup := first[r.Device]; dup {
				c.bad(path+".device", "%s already plays playback[%d] (one recording per device)", r.Device, j)
				ok = false
			} else {
				first[r.Device] = i
			}
		}
		switch {
		case pd.File == nil || *pd.File == "":
			c.bad(path+".file", "missing (a CSV file, relative to the scenario file's directory)")
			ok = false
		default:
			r.File = *pd.File
			r.Path = r.File
			if !filepath.IsAbs(r.Path) {
				r.Path = filepath.Join(dir, r.Path)
			}
		}
		if pd.RateHz != nil {
			if hz := *pd.RateHz; hz > 0 && hz <= playback.MaxRateHz {
				r.RateHz = hz
			} else {
				c.bad(path+".rate_hz", "%g is outside 0..%g (and must be above 0)", hz, float64(playback.MaxRateHz))
				ok = false
			}
		}
		r.Loop = pd.Loop != nil && *pd.Loop
		if pd.Offset != nil {
			if v := *pd.Offset; math.Abs(v) <= playback.MaxAbsValue {
				r.Offset = v
			} else {
				c.bad(path+".offset", "%g is not a finite number within ±%g (added to every value, in the file's units)", v, float64(playback.MaxAbsValue))
				ok = false
			}
		}
		if ok {
			p, err := playback.Load(r.Path, playbackOpts(r.Device, r.RateHz, r.Loop, r.Offset))
			if err != nil {
				c.bad(path+".file", "%v", err)
			} else {
				loaded[r.Device] = p
			}
		}
		recs = append(recs, r)
	}
	return recs, loaded
}
