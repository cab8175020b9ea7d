// Package actuators owns the pod's outputs (light, haptics, GPIO outputs) and
// their safe state: every output off. The per-chip drivers live in its
// subpackages; this package holds them all behind one Gate, through which
// normal output runs and which the safety watchdog closes to reach the safe
// state without waiting on anything else.
//
// On shutdown the daemon first seals the gate (Seal), so that nothing, not
// even an acknowledgement racing the stop, can reopen it; then applies the
// safe state; then waits with Idle for any Halt still running on a hung bus
// before it closes the buses under the outputs. The gate opens no bus and
// closes none: the daemon owns them.
package actuators

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrSafeState is returned by Do while the gate is closed.
var ErrSafeState = errors.New("actuators: in safe state")

// ErrSealed is returned by Open and OpenSince once the gate is sealed.
var ErrSealed = errors.New("actuators: gate sealed")

// Haltable is an output that can be put into its safe state: no motion, no
// light, no PWM. Halt must be safe to call more than once.
type Haltable interface {
	Halt() error
	String() string
}

// Resumer is implemented by outputs whose Halt latches: they refuse normal
// output until Resume, so a command already past the gate when it closed
// cannot undo the safe state. Gate.Open resumes them. Resume must not block.
type Resumer interface {
	Resume()
}

// Gate holds every output of the pod. Normal output runs through Do while
// the gate is open; SafeState closes it and halts every output.
//
// The gate takes no lock that a normal output action holds: an action that
// hangs on its bus cannot keep SafeState from the other outputs. Each output
// is halted on its own goroutine. The residual risk is the hung output
// itself: its Halt needs the same bus, and a driver serialises Halt behind
// the transfer in progress, so that output reaches its safe state only when
// the bus returns (for the LED strip, a hardware kill line is the remedy).
// Such a Halt keeps running after SafeStateContext gives up waiting for it.
type Gate struct {
	closed atomic.Bool
	outs   []*output

	// mu orders Open against SafeState's closing of the gate, so an Open
	// racing an abort cannot reopen it. Neither holds it across a Halt or any
	// bus transfer.
	mu sync.Mutex
	// gen counts SafeState calls (under mu), so OpenSince can refuse to undo
	// a safe state its caller has not seen.
	gen uint64
	// sealed (under mu) keeps the gate closed for good.
	sealed bool
}

// ErrSafeStateSince is returned by OpenSince when a safe state was applied
// after the generation its caller read.
var ErrSafeStateSince = errors.New("actuators: a safe state was applied since")

type output struct {
	h Haltable

	mu      sync.Mutex // guards halting and failed; never held while Halt runs
	halting *haltCall  // the Halt in progress, if any
	// failed is the error of the last Halt that returned, nil once one
	// succeeded: that output may still emit light or move.
	failed error
}

// haltCall is one run of an output's Halt; err is valid once done is closed.
type haltCall struct {
	done chan struct{}
	err  error
}

// NewGate returns an open gate over outs.
func NewGate(outs ...Haltable) *Gate {
	g := &Gate{outs: make([]*output, len(outs))}
	for i, h := range outs {
		g.outs[i] = &output{h: h}
	}
	return g
}

// Do runs f, a normal output action, if the gate is open, and returns
// ErrSafeState without running it otherwise.
func (g *Gate) Do(f func() error) error {
	if g.closed.Load() {
		return ErrSafeState
	}
	return f()
}

// Safe reports whether the gate is closed. A gate closed by Seal alone has
// halted nothing: only SafeState puts the outputs into their safe state.
func (g *Gate) Safe() bool { return g.closed.Load() }

// Sealed reports whether Seal was called: the gate will never open again.
func (g *Gate) Sealed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sealed
}

// Unsafe names the outputs not known to be in their safe state while the
// gate is closed: a Halt still in progress, or whose last run failed (a
// transient bus error during an abort leaves the strip showing its last
// frame). Their safe state must be applied again; the safety core does so
// until this is empty. It returns nil while the gate is open.
func (g *Gate) Unsafe() []string {
	if !g.closed.Load() {
		return nil
	}
	var names []string
	for _, o := range g.outs {
		o.mu.Lock()
		if o.halting != nil || o.failed != nil {
			names = append(names, o.h.String())
		}
		o.mu.Unlock()
	}
	return names
}

// Seal closes the gate for good: no new normal output starts, and every later
// Open or OpenSince returns ErrSealed. The daemon calls it once it has
// decided to stop, before the shutdown's safe state, so that nothing can
// relight the outputs after that decision. Seal does not halt anything:
// outputs keep what they show, and an action already past the gate runs on,
// until SafeState, which still works after Seal. Seal is safe to call twice.
func (g *Gate) Seal() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sealed = true
	g.closed.Store(true)
}

// SafeState closes the gate, so no new normal output starts, and halts every
// output, all of them even if some fail. It returns once every Halt has
// returned, with their errors joined.
func (g *Gate) SafeState() error { return g.SafeStateContext(context.Background()) }

// SafeStateContext is SafeState that stops waiting when ctx is done: the
// gate is closed and every Halt has been started by then, and the error
// names the outputs whose Halt has not returned. Those Halts keep running.
func (g *Gate) SafeStateContext(ctx context.Context) error {
	g.mu.Lock()
	g.closed.Store(true)
	g.gen++
	calls := make([]*haltCall, len(g.outs))
	for i, o := range g.outs {
		calls[i] = o.halt()
	}
	g.mu.Unlock()
	var errs []error
	var pending []string
	for i, c := range calls {
		select {
		case <-c.done:
			if c.err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", g.outs[i].h, c.err))
			}
		case <-ctx.Done():
			// Collect the rest without waiting, to name every output still halting.
			select {
			case <-c.done:
				if c.err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", g.outs[i].h, c.err))
				}
			default:
				pending = append(pending, g.outs[i].h.String())
			}
		}
	}
	if len(pending) > 0 {
		errs = append(errs, fmt.Errorf("actuators: halt still in progress: %s: %w", strings.Join(pending, ", "), ctx.Err()))
	}
	return errors.Join(errs...)
}

// halt starts Halt on its own goroutine, or joins the one in progress so a
// hung output does not collect a goroutine per SafeState call.
func (o *output) halt() *haltCall {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.halting != nil {
		return o.halting
	}
	c := &haltCall{done: make(chan struct{})}
	o.halting = c
	go func() {
		c.err = o.h.Halt()
		o.mu.Lock()
		o.halting = nil
		o.failed = c.err
		o.mu.Unlock()
		close(c.done)
	}()
	return c
}

// Open reopens the gate after a local acknowledgement and resumes outputs
// whose Halt latches. It refuses while any Halt is still in progress or the
// last Halt of an output failed: that output is not known to be safe, and
// reopening would let normal output queue up behind its hung bus, or stop
// the retries of its safe state. It returns ErrSealed once the gate is
// sealed.
func (g *Gate) Open() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.openLocked()
}

// Generation counts the safe states applied so far; pass it to OpenSince.
func (g *Gate) Generation() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gen
}

// OpenSince is Open, refused with ErrSafeStateSince if a safe state was
// applied after gen was read: an acknowledgement must not reopen the gate
// over an abort (or a shutdown) that came after it. A sealed gate refuses
// with ErrSealed, whatever gen.
func (g *Gate) OpenSince(gen uint64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.sealed {
		return ErrSealed
	}
	if g.gen != gen {
		return ErrSafeStateSince
	}
	return g.openLocked()
}

func (g *Gate) openLocked() error {
	if g.sealed {
		return ErrSealed
	}
	if busy := g.halting(); len(busy) > 0 {
		return fmt.Errorf("actuators: cannot reopen, halt still in progress: %s", names(busy))
	}
	var failed []string
	for _, o := range g.outs {
		o.mu.Lock()
		if o.failed != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", o.h, o.failed))
		}
		o.mu.Unlock()
	}
	if len(failed) > 0 {
		return fmt.Errorf("actuators: cannot reopen, the last halt failed: %s; it is applied again until it succeeds", strings.Join(failed, ", "))
	}
	for _, o := range g.outs {
		if r, ok := o.h.(Resumer); ok {
			r.Resume()
		}
	}
	g.closed.Store(false)
	return nil
}

// Idle waits until no output's Halt is in progress: a Halt started by
// SafeState on a hung bus keeps running after SafeStateContext gave up on it,
// and the daemon must not close a bus under it. It returns nil once none is,
// at once if none is, and otherwise, when ctx is done first, an error naming
// the outputs still halting that wraps ctx.Err(). It starts no goroutine.
func (g *Gate) Idle(ctx context.Context) error {
	for {
		// A SafeState may start new Halts while Idle waits: look again until
		// a look finds none.
		busy := g.halting()
		if len(busy) == 0 {
			return nil
		}
		for _, b := range busy {
			select {
			case <-b.call.done:
			case <-ctx.Done():
				if busy := g.halting(); len(busy) > 0 {
					return fmt.Errorf("actuators: halt still in progress: %s: %w", names(busy), ctx.Err())
				}
				return nil
			}
		}
	}
}

// busyOutput is an output and its Halt in progress.
type busyOutput struct {
	o    *output
	call *haltCall
}

// halting lists the outputs whose Halt is in progress, in gate order.
func (g *Gate) halting() []busyOutput {
	var busy []busyOutput
	for _, o := range g.outs {
		o.mu.Lock()
		if o.halting != nil {
			busy = append(busy, busyOutput{o, o.halting})
		}
		o.mu.Unlock()
	}
	return busy
}

func names(busy []busyOutput) string {
	n := make([]string, len(busy))
	for i, b := range busy {
		n[i] = b.o.h.String()
	}
	return strings.Join(n, ", ")
}
