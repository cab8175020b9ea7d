package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// OutputFrame is one line of an output record: what one simulated output
// showed from time T on. Exactly one of the value fields is set, by device
// kind:
//
//   - LEDs: an LED strip, per LED [red, green, blue, global brightness]
//     (colours 0..255, brightness 0..31; the light of a channel is
//     colour/255 × brightness/31 of its full output);
//   - Duty: a PWM controller, per channel the fraction of the period the
//     output is driven (0 with its output enable off);
//   - Intensity: a haptic driver, its drive as a fraction of full scale;
//   - High: a GPIO output line (a motor or an indicator), its level.
type OutputFrame struct {
	T         time.Time  `json:"t"`
	Device    string     `json:"device"`
	LEDs      [][4]uint8 `json:"leds,omitempty"`
	Duty      []float64  `json:"duty,omitempty"`
	Intensity *float64   `json:"intensity,omitempty"`
	High      *bool      `json:"high,omitempty"`
}

// OutputRecorder writes every frame the simulated outputs show, one JSON
// OutputFrame a line (JSON Lines), so that a checker outside the daemon
// can verify what the sleeper saw and felt. The device models call it with
// their own lock held; it buffers in memory and reaches the file on Flush
// (Hardware.Run flushes every FaultPeriod) and Close, so a slow disk does
// not slow the simulated bus. It is safe for concurrent use.
type OutputRecorder struct {
	mu  sync.Mutex
	w   *bufio.Writer
	c   io.Closer
	err error // the first write error; later frames are dropped
	// last is the last frame recorded per device, to record changes only.
	last map[string]string
}

// CreateOutputRecord creates (or truncates) the file at path for a record.
func CreateOutputRecord(path string) (*OutputRecorder, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return NewOutputRecorder(f), nil
}

// NewOutputRecorder records to w, closed by Close if it is an io.Closer.
func NewOutputRecorder(w io.Writer) *OutputRecorder {
	r := &OutputRecorder{w: bufio.NewWriterSize(w, 64<<10), last: map[string]string{}}
	if c, ok := w.(io.Closer); ok {
		r.c = c
	}
	return r
}

// record writes f if it differs from the device's last frame. A nil
// recorder records nothing.
func (r *OutputRecorder) record(f OutputFrame) {
	if r == nil {
		return
	}
	f.T = time.Now()
	b, err := json.Marshal(struct {
		LEDs      [][4]uint8 `json:"leds,omitempty"`
		Duty      []float64  `json:"duty,omitempty"`
		Intensity *float64   `json:"intensity,omitempty"`
		High      *bool      `json:"high,omitempty"`
	}{f.LEDs, f.Duty, f.Intensity, f.High})
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil || r.last[f.Device] == string(b) {
		return
	}
	r.last[f.Device] = string(b)
	line, err := json.Marshal(f)
	if err == nil {
		line = append(line, '\n')
		_, err = r.w.Write(line)
	}
	if err != nil {
		r.err = err
	}
}

// Flush writes the buffered frames to the file.
func (r *OutputRecorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.err = r.w.Flush()
	return r.err
}

// Close flushes and closes the record; it returns the first write error.
func (r *OutputRecorder) Close() error {
	err := r.Flush()
	if r.c != nil {
		err = errors.Join(err, r.c.Close())
	}
	return err
}

// ReadOutputRecord reads a record written by an OutputRecorder. A line
// that is not an OutputFrame with a time and a device is an error naming
// its line number.
func ReadOutputRecord(rd io.Reader) ([]OutputFrame, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var frames []OutputFrame
	for n := 1; sc.Scan(); n++ {
		var f OutputFrame
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("sim: output record line %d: %w", n, err)
		}
		if f.T.IsZero() || f.Device == "" {
			return nil, fmt.Errorf("sim: output record line %d: a frame needs t and device", n)
		}
		frames = append(frames, f)
	}
	return frames, sc.Err()
}
