package safety

import (
	"testing"
	"time"
)

// The hard bounds of issue 10, each at its edge: the bound itself is
// accepted, a step past it is refused with the key, the value and the
// bounds.
func TestHardBoundsAtTheirEdges(t *testing.T) {
	tests := []struct {
		name string
		set  func(*Limits)
		want string // "" when accepted
	}{
		{"heart rate delay 30 s", func(l *Limits) { l.HeartRateDelay = 30 * time.Second }, ""},
		{"heart rate delay 30.1 s", func(l *Limits) { l.HeartRateDelay = 30100 * time.Millisecond },
			"safety.heart_rate_delay: 30.1 s is outside the hard bounds 1..30 s"},
		{"SpO2 delay 30 s", func(l *Limits) { l.SpO2Delay = 30 * time.Second }, ""},
		{"SpO2 delay 30.1 s", func(l *Limits) { l.SpO2Delay = 30100 * time.Millisecond },
			"safety.spo2_delay: 30.1 s is outside the hard bounds 1..30 s"},
		{"SpO2 low 85 %", func(l *Limits) { l.SpO2LowPct, l.SpO2CriticalPct = 85, 84 }, ""},
		{"SpO2 low 84.9 %", func(l *Limits) { l.SpO2LowPct, l.SpO2CriticalPct = 84.9, 84 },
			"safety.spo2_low_pct: 84.9 % is outside the hard bounds 85..95 %"},
		{"heart rate high 160", func(l *Limits) { l.HeartRateHighBPM = 160 }, ""},
		{"heart rate high 160.1", func(l *Limits) { l.HeartRateHighBPM = 160.1 },
			"safety.heart_rate_high_bpm: 160.1 bpm is outside the hard bounds 90..160 bpm"},
		{"heart rate low 35", func(l *Limits) { l.HeartRateLowBPM = 35 }, ""},
		{"heart rate low 34.9", func(l *Limits) { l.HeartRateLowBPM = 34.9 },
			"safety.heart_rate_low_bpm: 34.9 bpm is outside the hard bounds 35..60 bpm"},
		{"stale 10 s", func(l *Limits) { l.StaleAfter = 10 * time.Second }, ""},
		{"stale 10.1 s", func(l *Limits) { l.StaleAfter = 10100 * time.Millisecond },
			"safety.stale_after: 10.1 s is outside the hard bounds 1..10 s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := DefaultLimits()
			tt.set(&l)
			err := l.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}
