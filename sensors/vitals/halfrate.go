package vitals

// Guards against reading a fraction or a multiple of the heart's rate.
//
// The beats a rate is read from (systolic peaks or upstrokes) may be
// only some of the heart's: the strong beats of an alternating pulse,
// whose weak beats are too weak to pass against them, read half the
// rate; a fast pulse whose beats ride on a slower swing (a103l played
// 1.75 times as fast, 220 bpm) read a quarter. midBeats (estimator.go)
// looks for the weak beat by its rise in the middle of each interval
// between systolic peaks; midUpstrokes looks for it by its upstroke
// between the upstrokes read (of the peaks, or those the rate was read
// from), where a weak beat has a clear rising slope although its rise
// is small: at 10 % of the strong beat on a 50 bpm pulse, or rising
// from the falling limb of the strong beat's diastolic wave, which
// lifts its foot (at 140 bpm with weak beats at 20-30 % the rise is
// 0.13-0.15 of the strong one's, under altRise). A weak beat whose foot
// falls on the diastolic wave's top merges with it into one hump, with
// one top and one upstroke, which nothing here tells from a diastolic
// wave (upstroke_review_test.go): such a pulse is read at half its
// rate. bumpsPerBeat counts the upstrokes between the beats read, which
// a pulse read at a third or a quarter of its rate has more of than any
// pulse read at its rate.
//
// The other way round, a pulse read with its diastolic waves as beats
// reads twice the heart's rate, which can only be above minDoubledBPM;
// there a reading whose every other beat is weaker (alternatingStrength)
// is invalid, since an alternating pulse read at its rate looks the
// same.

// midUpstrokes reports whether every interval between successive
// upstrokes ups (samples of d, the slope of the filtered pulse) has
// another upstroke in its middle: a local maximum of d from at to until
// of the interval (fractions, e.g. altFrom and altTo), refined to a
// fraction of a sample, at least altSlope of the less steep of the two.
func midUpstrokes(ups, d []float64, at, until float64) bool {
	if len(ups) < 2 {
		return false
	}
	for k := range len(ups) - 1 {
		l := ups[k+1] - ups[k]
		from, to := ups[k]+at*l, ups[k]+until*l
		floor := altSlope * min(steepness(d, ups[k]), steepness(d, ups[k+1]))
		found := false
		for i := max(int(from), 1); float64(i) <= to+1 && i < len(d)-1; i++ {
			if d[i] > d[i-1] && d[i] >= d[i+1] && d[i] >= floor {
				if p := refine(d, i); p >= from && p <= to {
					found = true
					break
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// steepness is d at the sample nearest p.
func steepness(d []float64, p float64) float64 {
	return d[min(max(int(p+0.5), 0), len(d)-1)]
}

// bumpsPerBeat is the number of upstrokes between the first and the last
// of beats (samples of d, the slope of the filtered pulse), per interval
// between them: the local maxima of d at least upstrokeThreshold of the
// steepest there.
func bumpsPerBeat(beats, d []float64) float64 {
	if len(beats) < 2 {
		return 0
	}
	lo, hi := max(int(beats[0]), 1), min(int(beats[len(beats)-1])+1, len(d)-1)
	top := 0.0
	for i := lo; i < hi; i++ {
		top = max(top, d[i])
	}
	c := 0
	for i := lo; i < hi; i++ {
		if d[i] > d[i-1] && d[i] >= d[i+1] && d[i] >= upstrokeThreshold*top {
			c++
		}
	}
	return float64(c) / float64(len(beats)-1)
}

// peakUpstrokes returns the upstroke of each systolic peak in peaks: the
// steepest rise of d (the slope of the filtered pulse) within
// refractorySeconds before it, refined to a fraction of a sample.
func (e *Estimator) peakUpstrokes(peaks, d []float64) []float64 {
	ups := e.upIdx[:len(peaks)]
	for k, p := range peaks {
		i := min(int(p+0.5), len(d)-2)
		j := i
		for m := max(i-e.refractory, 1); m < i; m++ {
			if d[m] > d[j] {
				j = m
			}
		}
		ups[k] = refine(d, max(j, 1))
	}
	return ups
}

// alternatingStrength reports whether every other one of beats (at least
// three; samples of d, the slope of the filtered pulse) rises less
// steeply than each of its neighbours by altStrength of theirs: the
// strong and weak beats of an alternating pulse read at its rate, or a
// pulse read with its diastolic waves as beats, at twice the heart's
// rate. Above minDoubledBPM Estimate cannot tell the two apart and
// reports neither. beats are upstrokes when byUpstroke, else systolic
// peaks (peakUpstrokes).
func (e *Estimator) alternatingStrength(beats, d []float64, byUpstroke bool) bool {
	if len(beats) < 3 {
		return false
	}
	ups := beats
	if !byUpstroke {
		ups = e.peakUpstrokes(beats, d)
	}
	for first := range 2 {
		weak := true
		for i := first; i < len(ups) && weak; i += 2 {
			s := steepness(d, ups[i])
			if i > 0 {
				weak = s < (1-altStrength)*steepness(d, ups[i-1])
			}
			if weak && i+1 < len(ups) {
				weak = s < (1-altStrength)*steepness(d, ups[i+1])
			}
		}
		if weak {
			return true
		}
	}
	return false
}
