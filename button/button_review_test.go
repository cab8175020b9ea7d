package button

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sim"
)

// deadEdges is a line whose edge detection has failed: WaitForEdge returns
// false at once, as periph's gpioioctl line does when its read or
// SetReadDeadline fails (it logs a line each time, too).
type deadEdges struct {
	*sim.Line
	waits atomic.Int64
}

func (d *deadEdges) WaitForEdge(time.Duration) bool {
	d.waits.Add(1)
	return false
}

// A line whose edge detection fails (WaitForEdge returns false at once)
// is not spun on: Run waits Poll between such waits, and after failFast of
// them returns ErrEdges, for runButton to report it and start it again.
func TestALineWhoseEdgesFailIsReportedNotSpun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		line := &deadEdges{Line: sim.NewLine("GPIO27", 27)}
		d, err := New(line, nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		runErr := d.Run(context.Background(), func() {})
		if w := line.waits.Load(); !errors.Is(runErr, ErrEdges) || w != failFast || time.Since(start) != (failFast-1)*DefaultOpts.Poll {
			t.Fatalf("Run = %v after %d waits and %v; want ErrEdges after %d waits, %v", runErr, w, time.Since(start), failFast, (failFast-1)*DefaultOpts.Poll)
		}
	})
}
