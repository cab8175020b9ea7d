package controller

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/uplink"
)

// History is the pod's night history as the pod uses it (a journal.Slot):
// AppendHistory never blocks (it drops and counts instead), History reads
// what is committed.
type History interface {
	AppendHistory(kind journal.HistoryKind, e journal.HistoryEntry) bool
	History(kind journal.HistoryKind, q journal.HistoryQuery) (journal.HistoryPage, error)
	HistoryStats() journal.HistoryStats
	HistorySessions(kind journal.HistoryKind) ([]journal.HistorySession, error)
}

// DefaultHistoryWindow is the default Config.HistoryWindow.
const DefaultHistoryWindow = 10 * time.Second

// HistoryPointType is the type of a vitals point in the history.
const HistoryPointType = "vitals"

// Span is a vital over one window: the least, mean and greatest of N
// telemetry samples that held it (samples without it are not counted).
type Span struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
	N    int     `json:"n"`
}

// HistoryPoint is one point of the vitals history: what the pod's
// telemetry said over one window (Config.HistoryWindow, aligned to it on
// the wall clock). Vitals are in telemetry's units; a vital no sample held
// is absent.
type HistoryPoint struct {
	// From is the window's start, To the time of its last sample.
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Samples int       `json:"samples"`
	// State is the pod's state at the last sample; States every state
	// the window saw, in order, when it saw more than one.
	State  string   `json:"state"`
	States []string `json:"states,omitempty"`
	// Safety is the worst level of the window: abort, warn or ok.
	Safety            string          `json:"safety"`
	Session           string          `json:"session,omitempty"`
	HeartRateBPM      *Span           `json:"heart_rate_bpm,omitempty"`
	SpO2Pct           *Span           `json:"spo2_pct,omitempty"`
	SkinConductanceUS *Span           `json:"skin_conductance_us,omitempty"`
	BodyTempC         *Span           `json:"body_temp_c,omitempty"`
	Stability         *Span           `json:"stability,omitempty"`
	EEG               map[string]Span `json:"eeg,omitempty"`
	// OutputsSafe is the fraction (0..1) of the window's samples with the
	// outputs in their safe state; Playing whether the show played frames
	// at any sample; Wake the wake ramp's greatest progress (0..1) after
	// an abort, absent outside one.
	OutputsSafe float64  `json:"outputs_safe"`
	Playing     bool     `json:"playing"`
	Wake        *float64 `json:"wake,omitempty"`
}

// span accumulates a Span.
type span struct {
	min, max, sum float64
	n             int
}

func (s *span) add(v *float64) {
	if v == nil {
		return
	}
	if s.n == 0 || *v < s.min {
		s.min = *v
	}
	if s.n == 0 || *v > s.max {
		s.max = *v
	}
	s.sum += *v
	s.n++
}

func (s *span) out() *Span {
	if s.n == 0 {
		return nil
	}
	return &Span{Min: s.min, Mean: round3(s.sum / float64(s.n)), Max: s.max, N: s.n}
}

// historyWindow downsamples telemetry into HistoryPoints. Only the
// telemetry loop touches it.
type historyWindow struct {
	every                    time.Duration
	start                    time.Time // of the open window; zero when none
	pt                       HistoryPoint
	hr, spo2, sc, temp, stab span
	eeg                      map[string]*span
	safe                     int
}

// sample is what one telemetry turn adds to the window.
type historySample struct {
	t       uplink.Telemetry
	safe    bool
	playing bool
	wake    *float64
}

// add puts a sample taken at now into the window, and returns the point
// of the window it closed, if the sample falls in a later one.
func (w *historyWindow) add(now time.Time, s historySample) (HistoryPoint, bool) {
	var done HistoryPoint
	closed := false
	if !w.start.IsZero() && !now.Before(w.start.Add(w.every)) || !w.start.IsZero() && now.Before(w.start) {
		done, closed = w.close()
	}
	if w.start.IsZero() {
		w.start = now.Truncate(w.every)
		w.pt = HistoryPoint{From: w.start}
		w.hr, w.spo2, w.sc, w.temp, w.stab = span{}, span{}, span{}, span{}, span{}
		w.eeg = map[string]*span{}
		w.safe = 0
	}
	p := &w.pt
	p.To = now
	p.Samples++
	if p.State != s.t.State && p.State != "" {
		if len(p.States) == 0 {
			p.States = []string{p.State}
		}
		p.States = append(p.States, s.t.State)
	}
	p.State = s.t.State
	if safetyRank(s.t.Safety) > safetyRank(p.Safety) {
		p.Safety = s.t.Safety
	}
	if s.t.Session != nil {
		p.Session = *s.t.Session
	}
	v := s.t.Vitals
	w.hr.add(v.HeartRateBPM)
	w.spo2.add(v.SpO2Pct)
	w.sc.add(v.SkinConductanceUS)
	w.temp.add(v.BodyTempC)
	w.stab.add(s.t.Stability)
	for band, x := range v.EEG {
		if w.eeg[band] == nil {
			w.eeg[band] = &span{}
		}
		w.eeg[band].add(&x)
	}
	if s.safe {
		w.safe++
	}
	p.Playing = p.Playing || s.playing
	if s.wake != nil && (p.Wake == nil || *s.wake > *p.Wake) {
		p.Wake = ptr(*s.wake)
	}
	return done, closed
}

// close returns the open window's point, if one is open, and opens none.
func (w *historyWindow) close() (HistoryPoint, bool) {
	if w.start.IsZero() {
		return HistoryPoint{}, false
	}
	p := w.pt
	p.HeartRateBPM, p.SpO2Pct, p.SkinConductanceUS, p.BodyTempC, p.Stability = w.hr.out(), w.spo2.out(), w.sc.out(), w.temp.out(), w.stab.out()
	for _, band := range slices.Sorted(maps.Keys(w.eeg)) {
		if s := w.eeg[band].out(); s != nil {
			if p.EEG == nil {
				p.EEG = map[string]Span{}
			}
			p.EEG[band] = *s
		}
	}
	p.OutputsSafe = round3(float64(w.safe) / float64(p.Samples))
	w.start = time.Time{}
	return p, true
}

func safetyRank(level string) int {
	switch level {
	case "ok":
		return 1
	case "warn":
		return 2
	case "abort":
		return 3
	}
	return 0
}

// historySample takes what the history keeps of the pod beside its
// telemetry t.
func (p *Pod) historySample(t uplink.Telemetry) historySample {
	s := historySample{t: t, safe: p.parts.Gate.Safe() && len(p.parts.Gate.Unsafe()) == 0}
	if p.show != nil {
		st := p.show.Status()
		s.playing, s.wake = st.Playing, st.Wake
	}
	return s
}

// keepPoint hands a closed window's point to the history; never blocks.
func (p *Pod) keepPoint(pt HistoryPoint) {
	h := p.parts.History
	if h == nil {
		return
	}
	b, err := json.Marshal(pt)
	if err != nil {
		return
	}
	h.AppendHistory(journal.HistoryVitals, journal.HistoryEntry{At: pt.From, Type: HistoryPointType, Session: pt.Session, Data: b})
}

// keepEvent hands a copy of an event the store took to the history, with
// the session under way; never blocks. The event's body is as sent (its
// type and fields, without the envelope).
func (p *Pod) keepEvent(e uplink.Event, at time.Time) {
	h := p.parts.History
	if h == nil {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	h.AppendHistory(journal.HistoryEvents, journal.HistoryEntry{At: at, Type: e.Type, Session: p.sessionID(), Data: b})
}

// keepReply keeps a reply to a hub's command as a "reply" entry.
func (p *Pod) keepReply(r uplink.Reply, at time.Time) {
	h := p.parts.History
	if h == nil {
		return
	}
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	h.AppendHistory(journal.HistoryEvents, journal.HistoryEntry{At: at, Type: "reply", Session: p.sessionID(), Data: b})
}

// errNoHistory is History's error on a pod built without Parts.History.
var errNoHistory = errors.New("controller: this pod keeps no history")

// History reads the pod's history (journal.Store.History); an error when
// the pod keeps none or its store is not open.
func (p *Pod) History(kind journal.HistoryKind, q journal.HistoryQuery) (journal.HistoryPage, error) {
	if p.parts.History == nil {
		return journal.HistoryPage{}, errNoHistory
	}
	return p.parts.History.History(kind, q)
}

// HistorySessions lists the merge sessions the vitals history holds
// points of, each with its first and last point's time.
func (p *Pod) HistorySessions() ([]journal.HistorySession, error) {
	if p.parts.History == nil {
		return nil, errNoHistory
	}
	return p.parts.History.HistorySessions(journal.HistoryVitals)
}

// HistoryStats counts the history's entries stored, pruned and dropped.
func (p *Pod) HistoryStats() journal.HistoryStats {
	if p.parts.History == nil {
		return journal.HistoryStats{}
	}
	return p.parts.History.HistoryStats()
}
