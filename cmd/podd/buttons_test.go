package main

import (
	"testing"

	"periph.io/x/conn/v3/gpio/gpioreg"

	"github.com/sleegation/podd/sim"
)

// The buttons' lines are resolved through periph's registry: a name that
// resolves to nothing is refused, and so are two names of one line (its
// number and a header-pin alias), which would make one press both a panic
// and a grant of consent.
func TestButtonLines(t *testing.T) {
	for _, l := range []*sim.Line{sim.NewLine("TEST_GPIO17", 1017), sim.NewLine("TEST_GPIO27", 1027), sim.NewLine("TEST_GPIO22", 1022)} {
		if err := gpioreg.Register(l); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = gpioreg.Unregister(l.Name()) })
	}
	if err := gpioreg.RegisterAlias("TEST_P1_11", "TEST_GPIO17"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gpioreg.Unregister("TEST_P1_11") })

	pins, err := buttonLines([numButtons]string{"TEST_GPIO17", "TEST_GPIO27", "TEST_GPIO22"})
	if err != nil || pins[0].Name() != "TEST_GPIO17" || pins[1].Name() != "TEST_GPIO27" || pins[2].Name() != "TEST_GPIO22" {
		t.Fatalf("buttonLines = %v, %v", pins, err)
	}
	if pins, err := buttonLines([numButtons]string{"", "TEST_GPIO27", ""}); err != nil || pins[0] != nil || pins[1] == nil || pins[2] != nil {
		t.Fatalf("without a consent or ack button: %v, %v", pins, err)
	}
	for _, tc := range []struct {
		names [numButtons]string
		want  string
	}{
		{[numButtons]string{"TEST_GPIO17", "TEST_P1_11", ""}, `hardware.consent_button "TEST_GPIO17" and hardware.panic_button "TEST_P1_11" are one line (TEST_GPIO17): each button needs its own`},
		{[numButtons]string{"TEST_GPIO99", "", ""}, `hardware.consent_button "TEST_GPIO99": ` + noLineFix},
		{[numButtons]string{"TEST_GPIO17", "TEST_GPIO27", "TEST_P1_11"}, `hardware.consent_button "TEST_GPIO17" and hardware.ack_button "TEST_P1_11" are one line (TEST_GPIO17): each button needs its own`},
		{[numButtons]string{"", "TEST_GPIO27", "TEST_GPIO27"}, `hardware.panic_button "TEST_GPIO27" and hardware.ack_button "TEST_GPIO27" are one line (TEST_GPIO27): each button needs its own`},
		{[numButtons]string{"", "", "TEST_GPIO98"}, `hardware.ack_button "TEST_GPIO98": ` + noLineFix},
	} {
		if _, err := buttonLines(tc.names); err == nil || err.Error() != tc.want {
			t.Errorf("buttonLines(%q) = %v, want %q", tc.names, err, tc.want)
		}
	}
}
