package configs

import (
	"strings"
	"testing"
)

// periph's gpioreg.ByName resolves a line by its name, its number and its
// aliases: "GPIO17" and "17" are the same line. Two buttons on one line
// would run Panic and GrantConsent on one press, in either order, and a
// panic could leave consent granted. (A header-pin alias such as P1_11 is
// board-specific: podd refuses it when it resolves the lines, see
// cmd/podd.)
func TestTheButtonsCannotShareALineUnderAnotherName(t *testing.T) {
	for _, pair := range [][2]string{{"GPIO17", "17"}, {"gpio17", "GPIO17"}} {
		y := strings.Replace(minimal, "mode: linux", "mode: linux\n  consent_button: \""+pair[0]+"\"\n  panic_button: \""+pair[1]+"\"", 1)
		if _, err := Parse([]byte(y), nil); err == nil {
			t.Errorf("consent_button %q and panic_button %q accepted: one line for both buttons", pair[0], pair[1])
		}
	}
}
