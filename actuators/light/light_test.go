package light

import (
	"math"
	"testing"
)

func TestLuminanceOfPrimariesAndWhite(t *testing.T) {
	for _, c := range []struct {
		name string
		c    RGB
		want float64
	}{
		{"dark", RGB{}, 0},
		{"white", RGB{1, 1, 1}, 1},
		{"red", RGB{1, 0, 0}, 0.2126},
		{"green", RGB{0, 1, 0}, 0.7152},
		{"blue", RGB{0, 0, 1}, 0.0722},
	} {
		if got := c.c.Luminance(); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: luminance %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRedRatio(t *testing.T) {
	if got := (RGB{}).RedRatio(); got != 0 {
		t.Errorf("dark: %v, want 0", got)
	}
	if got := (RGB{0.8, 0.1, 0.1}).RedRatio(); math.Abs(got-0.8) > 1e-12 {
		t.Errorf("got %v, want 0.8", got)
	}
}

func TestParseHex(t *testing.T) {
	c, err := ParseHex("#FF8000")
	if err != nil {
		t.Fatal(err)
	}
	// 0x80/255 = 0.50196 decodes to 0.21586 (IEC 61966-2-1).
	if c.R != 1 || math.Abs(c.G-0.21586) > 1e-4 || c.B != 0 {
		t.Errorf("got %+v", c)
	}
	for _, bad := range []string{"", "#fff", "ff8000", "#ff80000", "#gg0000", "#+f0000", "#0x1234"} {
		if _, err := ParseHex(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestByte8RoundsAndClamps(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want uint8
	}{{-1, 0}, {math.NaN(), 0}, {0, 0}, {0.5, 128}, {1, 255}, {2, 255}} {
		if got := Byte8(c.v); got != c.want {
			t.Errorf("Byte8(%v) = %d, want %d", c.v, got, c.want)
		}
	}
}

func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"#ff8000", "#000000", "#zzzzzz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseHex(s)
		if err != nil {
			if c != (RGB{}) {
				t.Fatalf("error with a colour %+v", c)
			}
			return
		}
		for _, v := range []float64{c.R, c.G, c.B} {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("%q: channel %v outside 0..1", s, v)
			}
		}
	})
}
