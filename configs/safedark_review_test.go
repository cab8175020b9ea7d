package configs

import (
	"testing"

	"github.com/sleegation/podd/actuators/light"
)

// lights.safe_level is bounded away from 0 ("never 0: an abort must not
// leave the sleeper in the dark"), but lights.safe_color is any #rrggbb:
// "#000000" passes, and the safe state's light is then
// safe_color × safe_level = black: every abort leaves the sleeper in the
// dark (the strip's safe frame is sent at global brightness 0), which the
// README and the issue forbid. Correct: a safe colour with no light
// (relative luminance 0, or too little to show at any allowed level) is
// refused with an error naming lights.safe_color.
func TestABlackSafeColourIsRefused(t *testing.T) {
	cfg, err := Parse([]byte(minimal+"lights:\n  safe_color: \"#000000\"\n"), nil)
	if err == nil {
		c, _ := light.ParseHex(cfg.Lights.SafeColor)
		t.Errorf("lights.safe_color #000000 accepted: the safe light is %+v at level %v, darkness", c.Scale(cfg.Lights.SafeLevel), cfg.Lights.SafeLevel)
	}
}
