package doctor

import (
	"errors"
	"strings"
	"testing"

	"periph.io/x/conn/v3/i2c/i2creg"
)

// A bus that is not there reads as periph's registry says, without its
// hint to call Init (doctor has called it; the node is what is missing).
func TestAMissingBusIsNotBlamedOnInit(t *testing.T) {
	_, err := i2creg.Open("no-such-bus-77")
	if err == nil {
		t.Skip("periph opened a bus named no-such-bus-77")
	}
	got := plainOpenError(err).Error()
	if strings.Contains(got, "Init()") || got == "" {
		t.Fatalf("plainOpenError(%q) = %q, want the registry's message without the Init hint", err, got)
	}
	other := errors.New("permission denied")
	if plainOpenError(other) != other {
		t.Fatal("another error was changed")
	}
}
