package sim

import (
	"bytes"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// The record holds one line per change of what an output shows, with the
// time, and reads back as written; a frame that changes nothing is not
// recorded again.
func TestOutputRecordRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		rec := NewOutputRecorder(&buf)
		strip := NewAPA102(2)
		strip.Record(rec, "strip")
		line := NewLine("GPIO5", 5)
		line.Record(rec)
		start := time.Now()
		frame := []byte{0, 0, 0, 0, 0xFF, 3, 2, 1, 0xE0 | 7, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0}
		if err := strip.Tx(frame, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		if err := strip.Tx(frame, nil); err != nil { // the same colours: no new line
			t.Fatal(err)
		}
		if err := line.Out(gpio.High); err != nil {
			t.Fatal(err)
		}
		if err := rec.Flush(); err != nil {
			t.Fatal(err)
		}
		got, err := ReadOutputRecord(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("%d frames, want 2: %+v", len(got), got)
		}
		if got[0].Device != "strip" || !got[0].T.Equal(start) || len(got[0].LEDs) != 2 || got[0].LEDs[0] != [4]uint8{1, 2, 3, 31} || got[0].LEDs[1] != [4]uint8{9, 0, 0, 7} {
			t.Errorf("strip frame %+v", got[0])
		}
		if got[1].Device != "GPIO5" || got[1].High == nil || !*got[1].High || !got[1].T.Equal(start.Add(20*time.Millisecond)) {
			t.Errorf("line frame %+v", got[1])
		}
	})
}

func TestReadOutputRecordNamesTheBadLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"t":"2026-11-30T00:00:00Z","device":"x","high":true}` + "\n{\n", "sim: output record line 2: unexpected EOF"},
		{`{"t":"2026-11-30T00:00:00Z","device":"x","volume":3}`, `sim: output record line 1: json: unknown field "volume"`},
		{`{"device":"x","high":true}`, "sim: output record line 1: a frame needs t and device"},
	} {
		if _, err := ReadOutputRecord(strings.NewReader(c.in)); err == nil || err.Error() != c.want {
			t.Errorf("ReadOutputRecord(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzReadOutputRecord(f *testing.F) {
	f.Add([]byte(`{"t":"2026-11-30T00:00:00Z","device":"x","duty":[0.5]}`))
	f.Add([]byte("{}\n{"))
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, err := ReadOutputRecord(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, fr := range frames {
			if fr.T.IsZero() || fr.Device == "" {
				t.Fatalf("a frame without time or device: %+v", fr)
			}
		}
	})
}
