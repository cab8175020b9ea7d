package eeg

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// welch computes the band powers of one segment by scipy's Welch
// convention (see the package doc). It is sized once and allocation-free.
type welch struct {
	fs     float64
	win    []float64 // periodic Hann window
	scale  float64   // 1/(fs·Σw²)
	buf    []float64
	coef   []complex128
	fft    *fourier.FFT
	lo, hi [NumBands]int // bins of the band edges, both included
}

func newWelch(n int, fs float64) *welch {
	w := &welch{
		fs:   fs,
		win:  make([]float64, n),
		buf:  make([]float64, n),
		coef: make([]complex128, n/2+1),
		fft:  fourier.NewFFT(n),
	}
	ss := 0.0
	for i := range w.win {
		// scipy.signal.get_window("hann", n) is periodic (fftbins=True).
		v := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
		w.win[i] = v
		ss += v * v
	}
	w.scale = 1 / (fs * ss)
	binsPerHz := float64(n) / fs
	for b := range NumBands {
		lo, hi := Band(b).Edges()
		w.lo[b] = int(math.Round(lo * binsPerHz))
		w.hi[b] = int(math.Round(hi * binsPerHz))
	}
	return w
}

// bandPowers returns the band powers in µV² of seg (µV, len(w.win) samples,
// all finite).
func (w *welch) bandPowers(seg []float64) Powers {
	mean := 0.0
	for _, v := range seg {
		mean += v
	}
	mean /= float64(len(seg))
	for i, v := range seg {
		w.buf[i] = (v - mean) * w.win[i]
	}
	w.fft.Coefficients(w.coef, w.buf)
	df := w.fs / float64(len(seg))
	var p Powers
	for b := range NumBands {
		lo, hi := w.lo[b], w.hi[b]
		// Composite Simpson over bins lo..hi (an even number of
		// intervals, see the package doc). No band reaches the DC or
		// Nyquist bin, so every bin is doubled for the one-sided PSD.
		s := w.psd(lo) + w.psd(hi)
		for k := lo + 1; k < hi; k++ {
			if (k-lo)%2 == 1 {
				s += 4 * w.psd(k)
			} else {
				s += 2 * w.psd(k)
			}
		}
		p[b] = s * df / 3
	}
	return p
}

// psd is the one-sided power spectral density of bin k in µV²/Hz.
func (w *welch) psd(k int) float64 {
	c := w.coef[k]
	return 2 * (real(c)*real(c) + imag(c)*imag(c)) * w.scale
}
