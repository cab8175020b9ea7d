package pca9685

import (
	"math"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
)

func TestSetWritesTheChannelsRegistersAndTheOutputFollows(t *testing.T) {
	tests := []struct {
		duty float64
		regs [4]byte // LEDn_ON_L, ON_H, OFF_L, OFF_H
		out  float64 // what the model's output drives
	}{
		{0, [4]byte{0, 0, 0, 0x10}, 0},                   // full-off bit
		{1, [4]byte{0, 0x10, 0, 0}, 1},                   // full-on bit, full off cleared
		{0.5, [4]byte{0, 0, 0x00, 0x08}, 0.5},            // off at 2048
		{0.25, [4]byte{0, 0, 0x00, 0x04}, 0.25},          // 1024
		{0.1, [4]byte{0, 0, 0x9A, 0x01}, 410.0 / 4096},   // 409.6 → 410 = 0x19A
		{1.0 / 8192, [4]byte{0, 0, 0x01, 0}, 1.0 / 4096}, // 0.5 → 1 (halves round up)
		{0.00012, [4]byte{0, 0, 0, 0x10}, 0},             // 0.49 → 0: full off
		{4095.0 / 4096, [4]byte{0, 0, 0xFF, 0x0F}, 4095.0 / 4096},
		{0.9999, [4]byte{0, 0x10, 0, 0}, 1}, // 4095.59 → 4096: full on
	}
	r := newRig(t)
	d := r.open(t, nil)
	for _, tt := range tests {
		if err := d.Set(9, tt.duty); err != nil {
			t.Fatalf("Set(9, %v) = %v", tt.duty, err)
		}
		want := repeat(0)
		want[9] = tt.out
		if got := r.channel(9); got != tt.regs {
			t.Errorf("Set(9, %v): LED9 registers % X; want % X", tt.duty, got, tt.regs)
		}
		if got := r.chip.Duties(); !slices.Equal(got, want) {
			t.Errorf("Set(9, %v): Duties() = %v; want channel 9 at %v, others 0", tt.duty, got, tt.out)
		}
	}
	// Full on, then a count: the full-on bit is cleared, the count holds.
	for _, v := range []float64{1, 0.5} {
		if err := d.Set(0, v); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.channel(0); got != [4]byte{0, 0, 0, 0x08} {
		t.Errorf("Set(0, 1) then Set(0, 0.5): LED0 % X; want 00 00 00 08", got)
	}
}

func TestSetAllWritesEveryChannelInOneTransaction(t *testing.T) {
	r := newRig(t)
	d := r.open(t, nil)
	duties := []float64{0, 1, 0.5, 0.25, 0.1, 0.75, 1.0 / 4096, 0, 1, 0.125, 0.375, 0.625, 0.875, 0.9999, 0.00012, 0.5}
	want := []float64{0, 1, 0.5, 0.25, 410.0 / 4096, 0.75, 1.0 / 4096, 0, 1, 0.125, 0.375, 0.625, 0.875, 1, 0, 0.5}
	before := r.bus.Transactions()
	if err := d.SetAll(duties); err != nil {
		t.Fatal(err)
	}
	if n := r.bus.Transactions() - before; n != 1 {
		t.Errorf("SetAll took %d transactions; want 1", n)
	}
	if got := r.chip.Duties(); !slices.Equal(got, want) {
		t.Errorf("Duties() after SetAll = %v; want %v", got, want)
	}
	if got := r.channel(4); got != [4]byte{0, 0, 0x9A, 0x01} {
		t.Errorf("LED4 after SetAll 0.1: % X; want 00 00 9A 01", got)
	}
	if got := r.channel(15); got != [4]byte{0, 0, 0x00, 0x08} || r.chip.Register(regMode1) != mode1AI {
		t.Errorf("LED15 % X, MODE1 %#02x after SetAll; want 00 00 00 08 (the write stopped at LED15_OFF_H), 0x20", got, r.chip.Register(regMode1))
	}
}

// Bad input is refused with an error naming it, and nothing reaches the
// bus.
func TestSetAndSetAllRefuseBadInputAndWriteNothing(t *testing.T) {
	r := newRig(t)
	d := r.open(t, nil)
	if err := d.SetAll(repeat(0.5)); err != nil {
		t.Fatal(err)
	}
	bad := repeat(0.5)
	bad[11] = math.NaN()
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"channel -1", func() error { return d.Set(-1, 0.5) }, "pca9685: channel -1 outside 0..15"},
		{"channel 16", func() error { return d.Set(16, 0.5) }, "pca9685: channel 16 outside 0..15"},
		{"duty -0.01", func() error { return d.Set(3, -0.01) }, "pca9685: channel 3: pca9685: duty -0.01 outside 0..1"},
		{"duty 1.01", func() error { return d.Set(3, 1.01) }, "pca9685: channel 3: pca9685: duty 1.01 outside 0..1"},
		{"duty NaN", func() error { return d.Set(3, math.NaN()) }, "duty NaN outside 0..1"},
		{"duty +Inf", func() error { return d.Set(3, math.Inf(1)) }, "duty +Inf outside 0..1"},
		{"15 duties", func() error { return d.SetAll(repeat(0)[:15]) }, "pca9685: SetAll of 15 duties; want 16"},
		{"17 duties", func() error { return d.SetAll(append(repeat(0), 0)) }, "pca9685: SetAll of 17 duties; want 16"},
		{"a NaN among 16", func() error { return d.SetAll(bad) }, "pca9685: channel 11: pca9685: duty NaN outside 0..1"},
	}
	for _, tt := range tests {
		before := r.bus.Transactions()
		err := tt.call()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v; want an error with %q", tt.name, err, tt.want)
		}
		if n := r.bus.Transactions() - before; n != 0 {
			t.Errorf("%s: %d transactions; want none", tt.name, n)
		}
	}
	if got := r.chip.Duties(); !slices.Equal(got, repeat(0.5)) {
		t.Errorf("Duties() after the refusals = %v; want all 0.5, as before", got)
	}
}

// FuzzSet sets any channel to any duty: a refusal writes nothing, else the
// model's output is the duty rounded to 1/4096.
func FuzzSet(f *testing.F) {
	f.Add(0, 0.0)
	f.Add(15, 1.0)
	f.Add(7, 0.5)
	f.Add(16, 0.5)
	f.Add(3, math.NaN())
	f.Add(3, 1.0/8192)
	f.Fuzz(func(t *testing.T, channel int, duty float64) {
		synctest.Test(t, func(t *testing.T) {
			r := newRig(t)
			d := r.open(t, nil)
			before := r.bus.Transactions()
			err := d.Set(channel, duty)
			valid := channel >= 0 && channel < Channels && duty >= 0 && duty <= 1
			if (err == nil) != valid {
				t.Fatalf("Set(%d, %v) = %v; want success %t", channel, duty, err, valid)
			}
			if !valid {
				if n := r.bus.Transactions() - before; n != 0 {
					t.Fatalf("Set(%d, %v) refused after %d transactions; want none", channel, duty, n)
				}
				return
			}
			got := r.chip.Duties()[channel]
			if math.Abs(got-duty) > 0.5/4096 || got*4096 != math.Round(got*4096) {
				t.Fatalf("Set(%d, %v): the output drives %v; want the nearest multiple of 1/4096", channel, duty, got)
			}
		})
	})
}
