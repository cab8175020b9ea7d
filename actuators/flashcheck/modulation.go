package flashcheck

import (
	"math"
	"math/cmplx"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Spectral analysis (see "Periodic modulation" in the package doc).
const (
	// ResampleHz is the rate luminance is resampled at, holding each sample.
	ResampleHz = 240
	// ModWindow is the length of one analysed window; streams shorter than
	// it (but at least MinModSpan) are analysed whole.
	ModWindow = 2 * time.Second
	// ModHop is the step between windows.
	ModHop = 250 * time.Millisecond
	// MinModSpan is the shortest stream whose modulation is measured.
	MinModSpan = time.Second
	// padding is the zero-padding factor of each window.
	padding = 4
)

// modulation measures the strongest periodic modulation of the stream's
// luminance in MinHz..MaxHz.
func modulation(samples []Sample) Modulation {
	span := samples[len(samples)-1].T - samples[0].T
	if span < MinModSpan {
		return Modulation{}
	}
	l := resample(samples)
	n := int(ModWindow * ResampleHz / time.Second)
	if n > len(l) {
		n = len(l)
	}
	hop := int(ModHop * ResampleHz / time.Second)
	m := padding * n
	fft := fourier.NewFFT(m)
	buf := make([]float64, m)
	coeff := make([]complex128, m/2+1)
	w := hann(n)
	var sumW float64
	for _, v := range w {
		sumW += v
	}
	df := float64(ResampleHz) / float64(m)
	k0 := int(math.Ceil(MinHz / df))
	k1 := int(math.Floor(MaxHz / df))
	best := Modulation{Judged: true}
	starts := make([]int, 0, len(l)/hop+2)
	for s := 0; s+n <= len(l); s += hop {
		starts = append(starts, s)
	}
	if last := len(l) - n; starts[len(starts)-1] != last {
		starts = append(starts, last)
	}
	for _, s := range starts {
		clear(buf)
		detrend(buf[:n], l[s:s+n])
		for i := range n {
			buf[i] *= w[i]
		}
		coeff = fft.Coefficients(coeff, buf)
		for k := k0; k <= k1 && k < len(coeff); k++ {
			depth := 2 * 2 * cmplx.Abs(coeff[k]) / sumW
			if depth > best.Depth {
				best.Depth, best.Hz = depth, float64(k)*df
				best.At = samples[0].T + time.Duration(s)*time.Second/ResampleHz
			}
		}
	}
	return best
}

// resample holds each sample's luminance until the next one's time, read
// every 1/ResampleHz from the first sample to the last.
func resample(samples []Sample) []float64 {
	t0 := samples[0].T
	span := samples[len(samples)-1].T - t0
	n := int(span*ResampleHz/time.Second) + 1
	l := make([]float64, n)
	j := 0
	for i := range l {
		t := t0 + time.Duration(i)*time.Second/ResampleHz
		for j+1 < len(samples) && samples[j+1].T <= t {
			j++
		}
		l[i] = samples[j].C.Luminance()
	}
	return l
}

// detrend writes x less its least-squares straight line into dst.
func detrend(dst, x []float64) {
	n := float64(len(x))
	var sx, sy, sxx, sxy float64
	for i, v := range x {
		fi := float64(i)
		sx += fi
		sy += v
		sxx += fi * fi
		sxy += fi * v
	}
	den := n*sxx - sx*sx
	slope := 0.0
	if den != 0 {
		slope = (n*sxy - sx*sy) / den
	}
	icept := (sy - slope*sx) / n
	for i, v := range x {
		dst[i] = v - (icept + slope*float64(i))
	}
}

// hann is the periodic Hann window of n points.
func hann(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
	}
	return w
}
