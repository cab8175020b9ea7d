package configs

import (
	"testing"
)

// ledRange reads "first-last" with strconv.Atoi, and the zone checks add
// First+Count in int: a zone of "9223372036854775807-9223372036854775807"
// has First+Count overflow to a negative number, passes "within the
// strip" and "no LED in two zones", and the configuration is accepted
// with a zone of no LED on the strip. cmd/outputcheck then slices the
// strip frame with the same overflowed bounds and panics
// (internal/outputcheck.FromRecord). Correct: a zone outside the strip is
// refused, however large its numbers, with the usual error naming the
// zone and hardware.led_count.
func TestAZoneBeyondTheIntRangeIsRefused(t *testing.T) {
	for _, leds := range []string{"9223372036854775807-9223372036854775807", "9223372036854775807", "9223372036854775806-9223372036854775807"} {
		cfg, err := Parse([]byte(minimal+"lights:\n  zones: {a: {leds: 0-9}, b: {leds: \""+leds+"\"}}\n"), nil)
		if err == nil {
			t.Errorf("zone b leds %s: accepted as %+v; want an error: the strip has 60 LEDs", leds, cfg.Lights.Zones)
		}
	}
}
