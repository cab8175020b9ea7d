package configs

import (
	"strings"
	"testing"
)

// A strip moved to the auxiliary bus (hardware.spi_port SPI1.1) leaves the
// EEG at its default SPI1.0, on the same bus: the loader refuses it, and
// the fix it suggests must be a port on another bus than the strip's, not
// the very port it refuses.
func TestEEGOnTheStripsBusSuggestsAnotherBus(t *testing.T) {
	_, err := Parse([]byte("pod:\n  id: pod-7\nuplink:\n  broker: tcp://hub.local:1883\nstorage:\n  path: /var/lib/podd/podd.db\napi:\n  socket: /run/podd/podd.sock\n"+`
hardware:
  mode: linux
  spi_port: SPI1.1
sensors:
  ads1299: {enabled: true}
`), nil)
	if err == nil {
		t.Fatal("Parse accepted the EEG on the strip's bus")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, `sensors.ads1299.spi_port: "SPI1.0" is on the LED strip's SPI bus (hardware.spi_port "SPI1.1")`) {
		t.Fatalf("Parse = %q", msg)
	}
	if _, hint, ok := strings.Cut(msg, "another bus"); !ok || strings.Contains(hint, "SPI1.") {
		t.Errorf("Parse = %q\nwant a fix on another bus than SPI1 (it suggests the strip's own bus)", msg)
	}
}
