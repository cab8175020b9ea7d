package playback_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/sleegation/podd/sim/playback"
)

// A pulse oximeter's recording at 100 Hz, read by a model sampling at
// 400 Hz: every fourth sample falls on a row, the others between two.
func ExampleRead() {
	csv := "ir,red\n1000,800\n1040,820\n1020,810\n"
	p, err := playback.Read(strings.NewReader(csv), "ppg.csv", playback.Options{
		Device:   "max30102",
		Columns:  []string{"ir", "red"},
		Required: []string{"ir"},
		RateHz:   100,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for d := time.Duration(0); d <= 25*time.Millisecond; d += 2500 * time.Microsecond {
		s, ok := p.At(d)
		fmt.Printf("%-6v ir %6.1f red %5.1f ok %v\n", d, s[0], s[1], ok)
	}
	// Output:
	// 0s     ir 1000.0 red 800.0 ok true
	// 2.5ms  ir 1010.0 red 805.0 ok true
	// 5ms    ir 1020.0 red 810.0 ok true
	// 7.5ms  ir 1030.0 red 815.0 ok true
	// 10ms   ir 1040.0 red 820.0 ok true
	// 12.5ms ir 1035.0 red 817.5 ok true
	// 15ms   ir 1030.0 red 815.0 ok true
	// 17.5ms ir 1025.0 red 812.5 ok true
	// 20ms   ir 1020.0 red 810.0 ok true
	// 22.5ms ir    0.0 red   0.0 ok false
	// 25ms   ir    0.0 red   0.0 ok false
}
