package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRecordBootKeepsTheLastBootsAndReturnsTheEarlierOnes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podd.boots")
	prev, err := recordBoot(path, "b1")
	if err != nil || len(prev) != 0 {
		t.Fatalf("first boot: %v, %v; want none before", prev, err)
	}
	for i := 2; i <= keptBoots+3; i++ {
		prev, err = recordBoot(path, fmt.Sprintf("b%d", i))
		if err != nil || len(prev) != min(i-1, keptBoots) || !prev[fmt.Sprintf("b%d", i-1)] {
			t.Fatalf("boot %d: previous %v, %v", i, slices.Sorted(maps.Keys(prev)), err)
		}
	}
	b, _ := os.ReadFile(path)
	lines := strings.Fields(string(b))
	if len(lines) != keptBoots || lines[0] != "b4" || lines[keptBoots-1] != fmt.Sprintf("b%d", keptBoots+3) {
		t.Fatalf("boot log = %v, want the last %d boots, oldest first", lines, keptBoots)
	}
}

func TestRecordBootSkipsGarbageAndReportsAnUnwritableLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "podd.boots")
	if err := os.WriteFile(path, []byte("a1\n\x00\x01garbage line\nZZ\na2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	prev, err := recordBoot(path, "a3")
	if err != nil || len(prev) != 2 || !prev["a1"] || !prev["a2"] {
		t.Fatalf("previous = %v, %v; want a1 and a2", prev, err)
	}
	prev, err = recordBoot(filepath.Join(dir, "missing", "podd.boots"), "a4")
	if err == nil || !strings.HasPrefix(err.Error(), "boot log: open ") || len(prev) != 0 {
		t.Fatalf("boot log in a missing directory: %v, %v; want an error and no boots", prev, err)
	}
}
