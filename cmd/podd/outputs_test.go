package main

import (
	"context"
	"slices"
	"testing"

	"github.com/sleegation/podd/actuators/lightguard"
	"github.com/sleegation/podd/dreamscape"
)

// A program the photosensitivity guard would have to slow is named by its
// keyframes at load; the shipped programs are not.
func TestGuardedKeyframesNameWhatTheGuardWouldSlow(t *testing.T) {
	zones, places := []string{"canopy", "floor", "sides"}, []string{"back", "feet"}
	load := func(path string) (*dreamscape.Program, *dreamscape.Bound) {
		t.Helper()
		p, err := dreamscape.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.Bind(zones, places)
		if err != nil {
			t.Fatal(err)
		}
		return p, b
	}
	for _, f := range []string{"calm-night", "sunrise", "slow-ocean"} {
		p, b := load("../../dreamscapes/" + f + ".yaml")
		if hits := guardedKeyframes(context.Background(), p, b, 50, lightguard.Opts{}); len(hits) != 0 {
			t.Errorf("%s: the guard would slow %v", f, hits)
		}
	}
	p, b := load("../../dreamscape/testdata/strobe-10hz.yaml")
	hits := guardedKeyframes(context.Background(), p, b, 50, lightguard.Opts{})
	want := []string{"lights.canopy[1] (at 50ms)", "lights.canopy[2] (at 100ms)", "lights.canopy[3] (at 150ms)"}
	if len(hits) != maxHits+1 || !slices.Equal(hits[:3], want) || hits[maxHits] != "and 9 more" {
		t.Fatalf("strobe: %v, want the first %d keyframes from %v and how many more", hits, maxHits, want)
	}
}
