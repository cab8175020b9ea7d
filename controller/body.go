package controller

import (
	"sync"
	"time"

	"github.com/sleegation/podd/sensors/vitals/eda"
	"github.com/sleegation/podd/sensors/vitals/eeg"
	"github.com/sleegation/podd/sensors/vitals/temp"
)

// bodyVitals are the latest estimates of the sensors besides the pulse
// oximeter, as their loops hand them over (sensing.Estimates): the
// session's baseline is captured from them, and each is passed on to the
// watchdog. Every method stores a copy under a short lock and returns:
// nothing here blocks a sensor loop.
type bodyVitals struct {
	p *Pod

	mu    sync.Mutex
	temp  temp.Reading
	skin  eda.Reading
	eeg   eeg.Channel
	eegAt time.Time
}

// FeedBodyTemp implements sensing.Estimates.
func (b *bodyVitals) FeedBodyTemp(r temp.Reading) {
	b.mu.Lock()
	b.temp = r
	b.mu.Unlock()
	b.p.wd.FeedBodyTemp(r)
}

// FeedSkinConductance implements sensing.Estimates.
func (b *bodyVitals) FeedSkinConductance(r eda.Reading) {
	b.mu.Lock()
	b.skin = r
	b.mu.Unlock()
	b.p.wd.FeedSkinConductance(r)
}

// FeedEEG implements sensing.Estimates.
func (b *bodyVitals) FeedEEG(at time.Time, s eeg.Channel) {
	b.mu.Lock()
	b.eeg, b.eegAt = s, at
	b.mu.Unlock()
	b.p.wd.FeedEEG(at, s)
}

// bodySnapshot is what the baseline's capture reads of bodyVitals.
type bodySnapshot struct {
	temp  temp.Reading
	skin  eda.Reading
	eeg   eeg.Channel
	eegAt time.Time
}

func (b *bodyVitals) snapshot() bodySnapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bodySnapshot{temp: b.temp, skin: b.skin, eeg: b.eeg, eegAt: b.eegAt}
}
