package eeg

// summarise returns the median over the valid channels of every band power
// and index, or an invalid Channel (ReasonNoValidChannel) when none is
// valid. The median of an even count is the mean of the middle two.
func summarise(chs []Channel) Channel {
	var valid [MaxChannels]*Channel
	n := 0
	for i := range chs {
		if chs[i].Valid {
			valid[n] = &chs[i]
			n++
		}
	}
	if n == 0 {
		return Channel{Reason: ReasonNoValidChannel}
	}
	var s Channel
	var buf [MaxChannels]float64
	med := func(f func(*Channel) float64) float64 {
		for i, c := range valid[:n] {
			buf[i] = f(c)
		}
		return median(buf[:n])
	}
	for b := range NumBands {
		s.Abs[b] = med(func(c *Channel) float64 { return c.Abs[b] })
		s.Rel[b] = med(func(c *Channel) float64 { return c.Rel[b] })
	}
	s.BetaAlpha = med(func(c *Channel) float64 { return c.BetaAlpha })
	s.FastSlow = med(func(c *Channel) float64 { return c.FastSlow })
	// The recent ratio: each channel's recent ratio over its own span's,
	// their median times the summary's span ratio, so that channels left
	// out (their newest segments rejected) change what is compared no
	// more than their own change would; at least half of the valid
	// channels must have one. Its age is the least of theirs.
	m := 0
	for _, c := range valid[:n] {
		if c.RecentValid && c.BetaAlpha > 0 {
			buf[m] = c.RecentBetaAlpha / c.BetaAlpha
			if m == 0 || c.RecentAge < s.RecentAge {
				s.RecentAge = c.RecentAge
			}
			m++
		}
	}
	if 2*m >= n && m > 0 {
		s.RecentBetaAlpha, s.RecentValid = s.BetaAlpha*median(buf[:m]), true
	} else {
		s.RecentAge = 0
	}
	s.Segments = n
	s.Valid = true
	return s
}

// median sorts v in place (insertion sort: at most MaxChannels values) and
// returns its median; v is not empty.
func median(v []float64) float64 {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
	m := len(v) / 2
	if len(v)%2 == 1 {
		return v[m]
	}
	return (v[m-1] + v[m]) / 2
}
