package eeg

import "time"

// Band indexes Powers.
type Band int

// The bands, in Hz (lower and upper edges both included, as in YASA):
// delta 0.5–4, theta 4–8, alpha 8–12, sigma 12–16, beta 16–30, gamma 30–40.
const (
	Delta Band = iota
	Theta
	Alpha
	Sigma
	Beta
	Gamma
	NumBands
)

// bandEdges are the bands' edges in Hz.
var bandEdges = [NumBands][2]float64{
	Delta: {0.5, 4},
	Theta: {4, 8},
	Alpha: {8, 12},
	Sigma: {12, 16},
	Beta:  {16, 30},
	Gamma: {30, 40},
}

// Edges returns the band's lower and upper edge in Hz.
func (b Band) Edges() (lo, hi float64) { return bandEdges[b][0], bandEdges[b][1] }

// String returns the band's name: "delta", "theta", "alpha", "sigma",
// "beta" or "gamma".
func (b Band) String() string {
	switch b {
	case Delta:
		return "delta"
	case Theta:
		return "theta"
	case Alpha:
		return "alpha"
	case Sigma:
		return "sigma"
	case Beta:
		return "beta"
	case Gamma:
		return "gamma"
	}
	return "unknown"
}

// Powers holds one value per band, indexed by Band.
type Powers [NumBands]float64

// Reason says why a channel or the summary is invalid.
type Reason uint8

const (
	// ReasonNone: valid.
	ReasonNone Reason = iota
	// ReasonFilling: fewer segments than the span holds since the
	// estimator started or was reset.
	ReasonFilling
	// ReasonNonFinite: NaN or infinite samples (lost samples) in more
	// than half of the span's segments.
	ReasonNonFinite
	// ReasonSaturated: a sample at full scale (lead off, railed input).
	ReasonSaturated
	// ReasonFlat: less than FlatMicrovolts peak-to-peak over a segment
	// (disconnected or shorted input).
	ReasonFlat
	// ReasonArtefact: more than half of the span's segments over
	// ArtefactMicrovolts peak-to-peak (movement, blinks).
	ReasonArtefact
	// ReasonNoValidChannel: the summary has no valid channel to rest on.
	ReasonNoValidChannel
)

// String returns the reason as used in telemetry: "", "filling",
// "non_finite", "saturated", "flat", "artefact" or "no_valid_channel".
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return ""
	case ReasonFilling:
		return "filling"
	case ReasonNonFinite:
		return "non_finite"
	case ReasonSaturated:
		return "saturated"
	case ReasonFlat:
		return "flat"
	case ReasonArtefact:
		return "artefact"
	case ReasonNoValidChannel:
		return "no_valid_channel"
	}
	return "unknown"
}

// Channel is the estimate of one channel, or the summary over channels.
// Its values are meaningful only when Valid is set; they are zero
// otherwise.
type Channel struct {
	// Abs is each band's absolute power in µV² (the PSD in µV²/Hz
	// integrated over the band's Hz).
	Abs Powers
	// Rel is each band's share of the power over 0.5–40 Hz (0..1; the
	// six add up to 1 for a channel, not necessarily for the summary,
	// whose bands are medians taken one by one).
	Rel Powers
	// BetaAlpha is Abs[Beta]/Abs[Alpha].
	BetaAlpha float64
	// FastSlow is (Abs[Beta]+Abs[Gamma])/(Abs[Delta]+Abs[Theta]).
	FastSlow float64
	// RecentBetaAlpha is beta/alpha over the clean segments among the
	// newest RecentSegments (8 s) rather than the span: what an arousal
	// shows within seconds, where the span's ratio takes most of its
	// 30 s. RecentValid says whether at least MinRecentClean of them
	// were clean (only in a valid channel). RecentAge is how long before
	// the newest sample the time lies that it describes, the mean of the
	// clean segments' midpoints (3 to 6 s). For the summary: the median
	// over the valid channels of each one's recent ratio over its span's,
	// times the summary's span ratio, valid when at least half of the
	// valid channels have a recent ratio; its age the least of theirs.
	RecentBetaAlpha float64
	RecentValid     bool
	RecentAge       time.Duration

	// Segments is how many clean segments the powers average (for the
	// summary: how many valid channels it is the median of).
	Segments int
	Valid    bool
	// Reason says why the estimate is invalid; ReasonNone when valid.
	Reason Reason
}

// Reading is one estimate of every channel and the pod-level summary.
type Reading struct {
	// At is when the reading was made (monotonic clock of the caller);
	// Estimate leaves it zero.
	At time.Time
	// Channels holds the first NumChannels entries, in the order of the
	// frames' samples.
	Channels    [MaxChannels]Channel
	NumChannels int
	// Summary is the median over the valid channels.
	Summary Channel
}
