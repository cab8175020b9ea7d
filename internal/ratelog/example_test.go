package ratelog_test

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/sleegation/podd/internal/ratelog"
)

func Example() {
	text := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // so that the output can be checked
			}
			return a
		},
	})
	// ratelog.Options{} gives the defaults; a short interval keeps the example quick.
	h := ratelog.New(text, ratelog.Options{Burst: 3, Interval: 200 * time.Millisecond})
	log := slog.New(h)

	for poll := 1; poll <= 8; poll++ {
		log.Warn("oximeter FIFO overflow", "poll", poll)
	}
	time.Sleep(200 * time.Millisecond) // the message earns one line back
	log.Warn("oximeter FIFO overflow", "poll", 9)
	fmt.Println("dropped:", h.Dropped())
	// Output:
	// level=WARN msg="oximeter FIFO overflow" poll=1
	// level=WARN msg="oximeter FIFO overflow" poll=2
	// level=WARN msg="oximeter FIFO overflow" poll=3 ratelimited=true
	// level=WARN msg="oximeter FIFO overflow" poll=9 suppressed=5
	// dropped: 5
}
