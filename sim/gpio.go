package sim

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
)

// Line is a simulated GPIO line (gpio.PinIO), driven from outside like a
// button or a switch wired to it. Set changes its level; while it is an
// input with edge detection, each change of level is queued as an edge
// (up to lineEdges; more are lost, as a kernel's event buffer loses them)
// for WaitForEdge. As an output it records the level written. It is safe
// for concurrent use.
type Line struct {
	name string
	num  int

	mu    sync.Mutex
	level gpio.Level
	pull  gpio.Pull
	edge  gpio.Edge
	out   bool
	edges chan struct{}
	lost  int
	rec   *OutputRecorder // nil: none
	// watch are called after each Out, in order, without the line's
	// lock (Watch).
	watch []func()

	// wait is WaitForEdge's timer, made once and reset at each wait
	// (since Go 1.23 a Reset timer delivers no stale tick): a reader
	// waiting for every edge of a 500 sps DRDY line allocates nothing.
	// waitMu holds it for one waiter at a time, as a line has one reader.
	waitMu sync.Mutex
	wait   *time.Timer
}

// lineEdges is how many unread edges a Line keeps.
const lineEdges = 16

// NewLine returns a line named name, number num, reading Low until
// configured.
func NewLine(name string, num int) *Line {
	return &Line{name: name, num: num, edges: make(chan struct{}, lineEdges)}
}

// Set drives the line's level from outside (a button pressed or released).
// On an output line it does nothing: the pod drives that one.
func (l *Line) Set(level gpio.Level) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setLocked(level)
}

// Bounce drives the line through levels, in order, all at one instant: a
// contact that bounces faster than any reader, whose edges the reader
// cannot take between them (more than the line keeps are lost).
func (l *Line) Bounce(levels ...gpio.Level) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, level := range levels {
		l.setLocked(level)
	}
}

// setLocked is Set with l.mu held.
func (l *Line) setLocked(level gpio.Level) {
	if l.out || level == l.level {
		return
	}
	l.level = level
	rising := level == gpio.High
	if l.edge == gpio.BothEdges || l.edge == gpio.RisingEdge && rising || l.edge == gpio.FallingEdge && !rising {
		select {
		case l.edges <- struct{}{}:
		default:
			l.lost++
		}
	}
}

// String implements conn.Resource.
func (l *Line) String() string { return fmt.Sprintf("%s(%d)", l.name, l.num) }

// Halt implements conn.Resource; it stops edge detection.
func (l *Line) Halt() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.edge = gpio.NoEdge
	return nil
}

// Name implements pin.Pin.
func (l *Line) Name() string { return l.name }

// Number implements pin.Pin.
func (l *Line) Number() int { return l.num }

// Function implements pin.Pin.
func (l *Line) Function() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.out {
		return "Out/" + l.level.String()
	}
	return "In/" + l.level.String()
}

// In implements gpio.PinIn: a pull-up reads High and a pull-down Low until
// something drives the line; queued edges are flushed.
func (l *Line) In(pull gpio.Pull, edge gpio.Edge) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.out, l.pull, l.edge = false, pull, edge
	switch pull {
	case gpio.PullUp:
		l.level = gpio.High
	case gpio.PullDown:
		l.level = gpio.Low
	}
	for {
		select {
		case <-l.edges:
		default:
			return nil
		}
	}
}

// Read implements gpio.PinIn.
func (l *Line) Read() gpio.Level {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.level
}

// WaitForEdge implements gpio.PinIn: it reports whether an edge came
// within timeout (-1: without limit).
func (l *Line) WaitForEdge(timeout time.Duration) bool {
	if timeout < 0 {
		<-l.edges
		return true
	}
	select {
	case <-l.edges:
		return true
	default:
	}
	l.waitMu.Lock()
	defer l.waitMu.Unlock()
	if l.wait == nil {
		l.wait = time.NewTimer(timeout)
	} else {
		l.wait.Reset(timeout)
	}
	defer l.wait.Stop()
	select {
	case <-l.edges:
		return true
	case <-l.wait.C:
		return false
	}
}

// Pull implements gpio.PinIn.
func (l *Line) Pull() gpio.Pull {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pull
}

// DefaultPull implements gpio.PinIn.
func (l *Line) DefaultPull() gpio.Pull { return gpio.Float }

// Out implements gpio.PinOut.
func (l *Line) Out(level gpio.Level) error {
	l.mu.Lock()
	l.out, l.level, l.edge = true, level, gpio.NoEdge
	if l.rec != nil {
		high := bool(level)
		l.rec.record(OutputFrame{Device: l.name, High: &high})
	}
	watch := l.watch
	l.mu.Unlock()
	for _, f := range watch {
		f()
	}
	return nil
}

// Watch adds f to the functions called, in the order added, after every
// level written to the line as an output (a chip's input wired to it: the
// PCA9685's OE, the DRV2605L's EN; the output recorder). Add them before
// the line is used.
func (l *Line) Watch(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.watch = append(l.watch, f)
}

// Record sends every level written to the line as an output to rec.
func (l *Line) Record(rec *OutputRecorder) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rec = rec
}

// PWM implements gpio.PinOut; a simulated line has none.
func (l *Line) PWM(gpio.Duty, physic.Frequency) error {
	return errors.New("sim: PWM not supported on " + l.name)
}

// LostEdges is how many edges were lost to a full queue.
func (l *Line) LostEdges() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

var _ gpio.PinIO = (*Line)(nil)
