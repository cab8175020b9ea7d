package scenario

import "slices"

// EEGBands are absolute EEG band powers, in µV², over the bands of
// EEGBandsHz: the power a Welch spectrum of one channel integrates to over
// each band. The simulated ADS1299 shapes its channels' oscillations so
// that their band powers are these.
type EEGBands struct {
	Delta, Theta, Alpha, Sigma, Beta, Gamma float64
}

// NumEEGBands is the number of bands of EEGBands.
const NumEEGBands = 6

// EEGBandsHz returns the bands' edges in Hz, [low, high), in the order of
// EEGBands' fields: delta 0.5-4, theta 4-8, alpha 8-12, sigma 12-16, beta
// 16-30, gamma 30-40 (YASA's default bands, and those of the project's
// reference table shared/data/real/eeg/eeg_bandpower.csv).
func EEGBandsHz() [NumEEGBands][2]float64 {
	return [NumEEGBands][2]float64{{0.5, 4}, {4, 8}, {8, 12}, {12, 16}, {16, 30}, {30, 40}}
}

// Array returns the powers in the order of EEGBandsHz.
func (b EEGBands) Array() [NumEEGBands]float64 {
	return [NumEEGBands]float64{b.Delta, b.Theta, b.Alpha, b.Sigma, b.Beta, b.Gamma}
}

func eegFromArray(a [NumEEGBands]float64) EEGBands {
	return EEGBands{Delta: a[0], Theta: a[1], Alpha: a[2], Sigma: a[3], Beta: a[4], Gamma: a[5]}
}

// EEGTargets are the band powers a set step moves toward, in µV². A nil
// field leaves that band as it is, including a ramp it is in.
type EEGTargets struct {
	Delta, Theta, Alpha, Sigma, Beta, Gamma *float64
}

func (t *EEGTargets) array() [NumEEGBands]*float64 {
	return [NumEEGBands]*float64{t.Delta, t.Theta, t.Alpha, t.Sigma, t.Beta, t.Gamma}
}

func (t *EEGTargets) fields() [NumEEGBands]**float64 {
	return [NumEEGBands]**float64{&t.Delta, &t.Theta, &t.Alpha, &t.Sigma, &t.Beta, &t.Gamma}
}

// The sleep stages an `eeg: {stage: ...}` names, for the band powers of a
// typical stage without writing them out.
const (
	StageAwake = "awake"
	StageN1    = "n1"
	StageN2    = "n2"
	StageN3    = "n3"
	StageREM   = "rem"
)

var stages = []string{StageAwake, StageN1, StageN2, StageN3, StageREM}

// stageBands are the band powers of each stage.
//
// N2 and N3 are the absolute powers of YASA's two sample sleep EEGs
// (single channel; data_N2_spindles_15sec_200Hz.txt and
// data_N3_no-spindles_30sec_100Hz.txt, BSD-3), by Welch with 4 s Hann
// windows and 50 % overlap: the project's table
// shared/data/real/eeg/eeg_bandpower.csv, to the µV² as it gives them. Each
// is one short recording of one sleeper, a plausible stage rather than a
// norm.
//
// Awake is relaxed wakefulness with the eyes closed, as a sleeper lies in
// the pod before falling asleep: alpha the largest band, as Berger first
// described and every clinical text repeats (Niedermeyer's
// Electroencephalography, ch. "The normal EEG of the waking adult"), delta
// and theta small, beta and gamma smaller still. No recording in the
// project's data measures it: the values are a profile of that shape, with
// a total power (about 80 µV²) a fifth to a sixth of the sleep stages'
// (about 380-450 µV²), not a measurement.
//
// N1 and REM follow the AASM Manual for the Scoring of Sleep and
// Associated Events (v2.6, 2020): N1 is low-amplitude, mixed-frequency
// activity, predominantly 4-7 Hz, with the alpha of wakefulness
// attenuated; REM's EEG is the same low-amplitude, mixed-frequency
// activity, with sawtooth waves (2-6 Hz) and little alpha. No recording
// in the project's data measures them either: each is a profile of that
// shape, theta above alpha, a total power (about 70 and 90 µV²) near the
// awake profile's, far below N2/N3's slow waves. Against the awake
// profile their beta/alpha ratio is 3 (N1) and 5.6 (REM) times as high,
// with no arousal at all: what eeg_arousal must not take for one (package
// safety, "Concurrent heart rate").
var stageBands = map[string]EEGBands{
	StageAwake: {Delta: 15, Theta: 8, Alpha: 40, Sigma: 6, Beta: 8, Gamma: 1.5},
	StageN1:    {Delta: 30, Theta: 20, Alpha: 10, Sigma: 5, Beta: 6, Gamma: 1},
	StageREM:   {Delta: 45, Theta: 25, Alpha: 8, Sigma: 4, Beta: 9, Gamma: 2},
	StageN2:    {Delta: 386.404, Theta: 24.515, Alpha: 13.034, Sigma: 24.683, Beta: 3.382, Gamma: 0.814},
	StageN3:    {Delta: 321.064, Theta: 33.501, Alpha: 13.886, Sigma: 6.049, Beta: 1.557, Gamma: 0.090},
}

// DefaultStage is the stage whose band powers a baseline without `eeg`
// takes: a scenario starts with the sleeper lying down, awake.
const DefaultStage = StageAwake

// Stages returns the stage names an `eeg` may give. The slice is a copy.
func Stages() []string { return slices.Clone(stages) }

// StageBands returns the band powers of a stage, false for an unknown one.
func StageBands(stage string) (EEGBands, bool) {
	b, ok := stageBands[stage]
	return b, ok
}
