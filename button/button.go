// Package button reads a push button on a GPIO input line: the sleeper's
// consent and panic buttons, and the pod's acknowledgement button. It owns
// the line's configuration (pull and edge detection), the debouncing and
// the hold time; what a press does is the caller's.
//
// A press is the line held at its active level for Opts.Debounce: contact
// bounce (a few milliseconds of alternating levels as the contacts close)
// and a spike shorter than that are not presses. A press is reported once,
// when it is recognised, and the button must read inactive for Debounce
// before another press counts, so a button held down (or a line stuck at
// its active level) is one press. Edges wake the reader at once; it also
// reads the level every Opts.Poll, so a lost edge (a full kernel buffer)
// delays a press by at most Poll, never loses it.
//
// A button with a hold time (Opts.Hold, the acknowledgement button's) counts
// a press only once the line, its press recognised, has stayed active for
// Hold more: a sleeper who rolls onto it for a moment clears nothing. Only
// time the line reads active counts. A release ends the hold, and nothing
// is reported, once the line has read inactive for Debounce in all since
// it last held one level for Debounce without an edge: a release that
// holds, and equally a line that chatters (a worn contact, a shivering hand
// resting on the button, interference on its cable), however many edges
// come meanwhile. A bounce with less inactive time than that, followed by
// Debounce of quiet at the active level, does not end the hold; its
// inactive time is added to the hold. A line still unsettled when the hold
// would end is no hold. Holds do not add up: two presses of half the hold
// each are no press; the next press starts a hold afresh. The press is
// reported at Debounce + Hold (plus any bounce's inactive time) after the
// line's last edge into its active level, and once, however long the
// button stays down.
package button

import (
	"context"
	"errors"
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Opts configure a button.
type Opts struct {
	// ActiveLow: the line reads Low while the button is pressed (a button
	// to ground, with a pull-up). Otherwise it reads High while pressed.
	ActiveLow bool
	// Pull is the line's bias. DefaultOpts pulls up, for an active-low
	// button; gpio.PullNoChange keeps what the board configured.
	Pull gpio.Pull
	// Debounce is how long the line must hold a level before it counts;
	// 30 ms when zero. Mechanical contacts bounce for 1..10 ms.
	Debounce time.Duration
	// Poll is how often the level is read without an edge; 100 ms when
	// zero.
	Poll time.Duration
	// Hold is how long the line must stay active after its press is
	// recognised before the press counts; 0 counts it at once.
	Hold time.Duration
}

// DefaultOpts is a button to ground on a line with its pull-up enabled.
var DefaultOpts = Opts{ActiveLow: true, Pull: gpio.PullUp, Debounce: 30 * time.Millisecond, Poll: 100 * time.Millisecond}

// Dev is one button.
type Dev struct {
	pin  gpio.PinIO
	opts Opts
}

// New configures pin as an input with edge detection on both edges. It
// fails if the line cannot be configured (a line another driver holds, a
// line without edge support).
func New(pin gpio.PinIO, opts *Opts) (*Dev, error) {
	if pin == nil {
		return nil, errors.New("button: no GPIO line")
	}
	o := DefaultOpts
	if opts != nil {
		o = *opts
	}
	if o.Debounce <= 0 {
		o.Debounce = DefaultOpts.Debounce
	}
	if o.Poll <= 0 {
		o.Poll = DefaultOpts.Poll
	}
	if err := pin.In(o.Pull, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("button: configure %s: %w", pin, err)
	}
	return &Dev{pin: pin, opts: o}, nil
}

// String names the button's line.
func (d *Dev) String() string { return "button(" + d.pin.String() + ")" }

// Halt stops edge detection on the line.
func (d *Dev) Halt() error { return d.pin.Halt() }

func (d *Dev) active() bool {
	return (d.pin.Read() == gpio.Low) == d.opts.ActiveLow
}

// failFast is how many waits in a row may return at once without an edge
// before Run gives up on the line: edge detection that fails (a line
// periph's driver can no longer read) returns false at once, and Run would
// otherwise spin.
const failFast = 10

// ErrEdges is returned by Run when the line's edge detection fails.
var ErrEdges = errors.New("button: the line's edge detection fails (WaitForEdge returns at once)")

// Run calls press for every debounced press until ctx is done, and returns
// nil then. A line whose edge detection fails (failFast waits in a row that
// return at once, without an edge, well before Poll) makes it return
// ErrEdges, so its caller can report the button and start it again; it
// waits Poll after each such wait rather than spin. press runs on Run's
// goroutine: a slow press delays the next one, never loses it (the line
// keeps its level).
func (d *Dev) Run(ctx context.Context, press func()) error {
	pressed := d.active() // a button already held at start is not a press
	fast := 0
	for ctx.Err() == nil {
		began := time.Now()
		edge := d.pin.WaitForEdge(d.opts.Poll)
		if !edge && time.Since(began) < d.opts.Poll/2 {
			if fast++; fast >= failFast {
				return fmt.Errorf("%w: %s", ErrEdges, d.pin)
			}
			if !sleep(ctx, d.opts.Poll) {
				break
			}
		} else {
			fast = 0
		}
		if d.active() == pressed {
			continue
		}
		// A change: it counts once the line has held a level, without an
		// edge, for Debounce.
		for ctx.Err() == nil && d.pin.WaitForEdge(d.opts.Debounce) {
		}
		if ctx.Err() != nil {
			break
		}
		if now := d.active(); now != pressed {
			pressed = now
			if pressed && d.opts.Hold > 0 {
				pressed = d.held(ctx)
			}
			if pressed {
				press()
			}
		}
	}
	return nil
}

// held waits, once a press is recognised, until the line has stayed
// active for Hold (true), or a release has ended the hold (false, see
// settled), or ctx is done (false). A wait that returns at once without
// an edge (failed edge detection) is followed by a sleep of the same length
// rather than a spin; the level is read after each wait, so lost edges
// delay a release by at most Poll.
func (d *Dev) held(ctx context.Context) bool {
	deadline := time.Now().Add(d.opts.Hold)
	for ctx.Err() == nil {
		left := time.Until(deadline)
		if left <= 0 {
			return d.active()
		}
		w := min(left, d.opts.Poll)
		began := time.Now()
		if edge := d.pin.WaitForEdge(w); !edge && time.Since(began) < w/2 && !sleep(ctx, w) {
			return false
		}
		if d.active() {
			continue
		}
		bounce, ok := d.settled(ctx, deadline)
		if !ok {
			return false
		}
		deadline = deadline.Add(bounce)
	}
	return false
}

// settled follows the line from a reading of its inactive level during a
// hold until it has held one level, without an edge, for Debounce. It
// reports how long the line read inactive meanwhile and whether the hold
// goes on: true only if the line settled active with less than Debounce of
// inactive time in all. The line's level between two reads is taken as the
// one read at the first of them.
//
// The hold ends (false) as soon as the inactive time reaches Debounce,
// however many edges interrupt it (a contact that chatters, a hand that
// shivers on the button: a line active a small part of the time is no
// hold), when deadline (pushed back by the inactive time) passes before
// the line settles, or when ctx is done.
func (d *Dev) settled(ctx context.Context, deadline time.Time) (inactive time.Duration, ok bool) {
	active, since := false, time.Now()
	for ctx.Err() == nil {
		w := min(d.opts.Debounce, time.Until(deadline.Add(inactive)))
		if w <= 0 {
			return inactive, false
		}
		began := time.Now()
		edge := d.pin.WaitForEdge(w)
		if !edge && time.Since(began) < w/2 && !sleep(ctx, w) {
			return inactive, false
		}
		now := time.Now()
		if !active {
			inactive += now.Sub(since)
		}
		active, since = d.active(), now
		if inactive >= d.opts.Debounce {
			return inactive, false
		}
		if !edge && w == d.opts.Debounce {
			if active {
				return inactive, true
			}
			// Quiet and inactive for a whole Debounce: counted above.
		}
	}
	return inactive, false
}

// sleep waits d, or until ctx is done; it reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
