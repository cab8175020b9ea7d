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
	m := 0
	for _, c := range valid[:n] {
		if c.RecentValid {
			buf[m] = c.RecentBetaAlpha
			m++
			s.RecentAge = c.RecentAge
		}
	}
	if m > 0 {
		s.RecentBetaAlpha, s.RecentValid = median(buf[:m]), true
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
