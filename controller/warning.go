package controller

import (
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/uplink"
)

// onWarning runs on the watchdog goroutine when a rule's alarm delay
// starts (safety.Options.OnWarning, once per episode): it posts a
// "warning" event (the rule, its priority, the value and the limit, the
// delay before the abort) for the hub and the dreamscape, which may calm
// down. Posting never blocks.
func (p *Pod) onWarning(w safety.Warning) {
	p.log.Info("safety warning", "rule", w.Rule, w.Name, w.Value, "limit", w.Limit)
	p.post(uplink.Event{Type: "warning", Fields: map[string]any{
		"rule": w.Rule, "priority": w.Priority, "values": map[string]float64{w.Name: w.Value},
		"limit": w.Limit, "delay_s": w.Delay.Seconds(), "detected_at": uplink.FormatTime(w.At),
	}}, time.Now())
}
