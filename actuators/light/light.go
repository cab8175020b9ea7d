// Package light owns the pod's measure of light: a colour as the linear light
// of each LED channel, its relative luminance and its redness, and the
// conversion from the sRGB colours artists write.
//
// An LED's light is proportional to its PWM duty, so an 8-bit channel value
// v shows v/255 of the channel's full light: channel values are linear light.
// Colours written by people (dreamscape programs, configuration) are sRGB
// and are decoded to linear light before they reach an output.
package light

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// RGB is a colour as linear light per channel, each 0..1 of the channel's
// full output.
type RGB struct {
	R, G, B float64
}

// Relative luminance coefficients of the sRGB primaries (ITU-R BT.709, as
// used by WCAG 2.x's definition of relative luminance).
const (
	lumR = 0.2126
	lumG = 0.7152
	lumB = 0.0722
)

// Luminance is the relative luminance, 0 (dark) to 1 (every channel full):
// 0.2126 R + 0.7152 G + 0.0722 B (WCAG 2.x, relative luminance).
func (c RGB) Luminance() float64 { return lumR*c.R + lumG*c.G + lumB*c.B }

// RedRatio is R/(R+G+B), 0 for a dark colour. A colour with a ratio of at
// least SaturatedRed is saturated red (WCAG 2.x, red flash).
func (c RGB) RedRatio() float64 {
	s := c.R + c.G + c.B
	if s <= 0 {
		return 0
	}
	return c.R / s
}

// SaturatedRed is the red ratio from which a colour is saturated red.
const SaturatedRed = 0.8

// Scale returns c with every channel multiplied by k.
func (c RGB) Scale(k float64) RGB { return RGB{c.R * k, c.G * k, c.B * k} }

// Clamp returns c with every channel within 0..1; NaN becomes 0.
func (c RGB) Clamp() RGB { return RGB{clamp01(c.R), clamp01(c.G), clamp01(c.B)} }

func clamp01(v float64) float64 {
	switch {
	case !(v > 0): // NaN too
		return 0
	case v > 1:
		return 1
	}
	return v
}

// Byte8 is one channel's 8-bit PWM value, rounded: 0..255.
func Byte8(v float64) uint8 { return uint8(math.Round(clamp01(v) * 255)) }

// Bytes returns the colour's 8-bit channel values.
func (c RGB) Bytes() (r, g, b uint8) { return Byte8(c.R), Byte8(c.G), Byte8(c.B) }

// FromBytes is the colour that 8-bit channel values show.
func FromBytes(r, g, b uint8) RGB { return RGB{float64(r) / 255, float64(g) / 255, float64(b) / 255} }

// DecodeSRGB is the linear light of one sRGB-encoded channel value in 0..1
// (IEC 61966-2-1: v/12.92 up to 0.04045, ((v+0.055)/1.055)^2.4 above).
func DecodeSRGB(v float64) float64 {
	v = clamp01(v)
	if v <= 0.04045 {
		return v / 12.92
	}
	return math.Pow((v+0.055)/1.055, 2.4)
}

// ParseHex reads an sRGB colour written "#rrggbb" (hex digits, either case)
// and returns its linear light. Any other form is an error naming it.
func ParseHex(s string) (RGB, error) {
	if len(s) != 7 || s[0] != '#' {
		return RGB{}, fmt.Errorf("colour %q: want #rrggbb", s)
	}
	n, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil || strings.ContainsAny(s[1:], "+-xX_") {
		return RGB{}, fmt.Errorf("colour %q: want #rrggbb (hex digits)", s)
	}
	r, g, b := float64(n>>16&0xff)/255, float64(n>>8&0xff)/255, float64(n&0xff)/255
	return RGB{DecodeSRGB(r), DecodeSRGB(g), DecodeSRGB(b)}, nil
}
