package configs

import (
	"testing"
)

// lights.pca9685.frequency_hz is the PWM frequency the PCA9685 drives the
// pwm zones' LEDs at: each LED is switched fully on and fully off once a
// period, a modulation of the zone's whole light. configs accepts 24..1526
// Hz (MinPWMHz is 24, what the prescaler can make), so a configuration of
// 24..60 Hz makes every lit pwm zone flicker at full depth inside the 3-60
// Hz band the photosensitivity guard exists to keep out, whatever the guard
// does to the frame. The issue itself refuses the APA102's ~580 Hz global
// brightness PWM for flickering. Correct: a PWM frequency in or near the
// band is refused with an error naming the key (MinPWMHz well above 60 Hz,
// e.g. several hundred Hz; the default 1 kHz is fine).
func TestAPWMFrequencyInTheFlickerBandIsRefused(t *testing.T) {
	for _, hz := range []string{"24", "30", "60"} {
		y := "lights:\n  pca9685: {enabled: true, frequency_hz: " + hz + "}\n  zones: {canopy: {leds: 0-59}, floor: {pwm: [0, 1, 2]}}\n"
		if _, err := Parse([]byte(minimal+y), nil); err == nil {
			t.Errorf("lights.pca9685.frequency_hz %s Hz: accepted; want an error: the pwm zones would flicker at %s Hz at full depth", hz, hz)
		}
	}
}
