package safety

import (
	"fmt"
	"time"

	"github.com/sleegation/podd/sensing"
)

// SensorSettle is the fraction of StaleAfter a sensor must stay healthy,
// after it was not, before sensor_stale counts it as recovered: StaleAfter
// divided by SensorSettle (1 s with the default 5 s, 2 s at the longest
// 10 s). See the package doc, "sensor_stale's episodes".
const SensorSettle = 5

// sensorEpisode is sensor_stale's view of one watched sensor: from is
// when its current unhealthy episode began (zero while none), healthyFrom
// when it became healthy again within the episode (zero while it is not).
type sensorEpisode struct {
	from, healthyFrom time.Time
}

// sensorStaleLocked updates each watched sensor's episode and returns
// sensor_stale's abort when one has lasted longer than StaleAfter during a
// merge: its Detail names the sensor and its state (Values holds numbers
// only), its Limit is StaleAfter in seconds. A stale sensor's episode
// begins at its last fresh data (Health.LastFresh), not when its own
// StaleAfter ran out after them: the time it has said nothing is what
// StaleAfter limits. Outside a merge the episodes are forgotten. It does not allocate
// unless it trips. w.mu must be held.
func (w *Watchdog) sensorStaleLocked(now time.Time) (Abort, bool) {
	if !w.merge {
		clear(w.episodes)
		return Abort{}, false
	}
	l := w.limits
	settle := l.StaleAfter / SensorSettle
	for i, sw := range w.sensors {
		h := sw.Health()
		ep := &w.episodes[i]
		if h.Healthy() {
			if ep.from.IsZero() {
				continue
			}
			if ep.healthyFrom.IsZero() {
				ep.healthyFrom = now
				if !h.Since.IsZero() && h.Since.Before(now) {
					ep.healthyFrom = h.Since
				}
			}
			if now.Sub(ep.healthyFrom) >= settle {
				*ep = sensorEpisode{}
			}
			continue
		}
		ep.healthyFrom = time.Time{}
		start := h.UnhealthySince
		if h.State == sensing.Stale && !h.LastFresh.IsZero() && (start.IsZero() || h.LastFresh.Before(start)) {
			// Stale is judged by the sensor's own StaleAfter after its
			// last fresh data: the sensor has said nothing since then.
			start = h.LastFresh
		}
		if ep.from.IsZero() || !start.IsZero() && start.Before(ep.from) {
			ep.from = start
			if start.IsZero() {
				ep.from = now
			}
		}
		from := later(later(ep.from, w.mergeFrom), w.graceEnd)
		if d := now.Sub(from); d > l.StaleAfter {
			return Abort{
				Rule:   RuleSensorStale,
				Detail: fmt.Sprintf("%s %s for %.1f s (limit %.1f s)", h.Sensor, h.State, d.Seconds(), l.StaleAfter.Seconds()),
				Values: map[string]float64{"stale_s": round3(d.Seconds())},
				Limit:  l.StaleAfter.Seconds(),
				lasted: d,
			}, true
		}
	}
	return Abort{}, false
}
