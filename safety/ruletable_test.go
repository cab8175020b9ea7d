package safety

import (
	"os"
	"strings"
	"testing"
)

// The README's table of rules is RuleTable, to the letter: the defaults
// and bounds it shows are the ones the code applies.
func TestREADMEShowsTheRuleTable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), RuleTable()) {
		t.Errorf("README.md does not show the rule table as the code has it; paste:\n%s", RuleTable())
	}
}
