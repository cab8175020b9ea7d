package configs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Finding: an unknown key (telemtry.interval) named no file and suggested
// nothing. Load now names the file on each line about it and suggests the
// nearest key; a PODD_ variable's line names the variable, not the file.
func TestAnUnknownKeyNamesTheFileAndSuggestsTheNearest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pod.yaml")
	if err := os.WriteFile(path, []byte(minimal+"telemtry:\n  interval: 5s\nsafety:\n  spo2_low_pct: 99\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, []string{"PODD_UPLINK_BROKR=tcp://hub:1883"})
	want := path + `: telemtry.interval: unknown key; did you mean telemetry.interval?
PODD_UPLINK_BROKR: no configuration key has this environment variable; did you mean PODD_UPLINK_BROKER?
` + path + `: safety.spo2_low_pct: 99 % is outside the hard bounds 85..95 %`
	if err == nil || err.Error() != want {
		t.Fatalf("Load = %v\nwant:\n%s", err, want)
	}
}

// A name far from every key gets no suggestion; a file that is missing is
// an error wrapping fs.ErrNotExist (podd adds its hint to it).
func TestAFarOffUnknownKeySuggestsNothing(t *testing.T) {
	_, err := Parse([]byte(minimal+"colour: blue\n"), nil)
	if err == nil || err.Error() != "colour: unknown key" {
		t.Fatalf("Parse = %v, want %q", err, "colour: unknown key")
	}
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file = %v, want fs.ErrNotExist", err)
	}
}

func TestSuggest(t *testing.T) {
	known := Keys()
	for _, tt := range []struct{ name, want string }{
		{"telemtry.interval", "telemetry.interval"},    // a letter left out
		{"telemetry.intreval", "telemetry.interval"},   // two letters swapped: one edit
		{"safety.spo2_low_pcx", "safety.spo2_low_pct"}, // substituted
		{"uplink.brokers", "uplink.broker"},            // one too many
		{"storage.pth", "storage.path"},                // within a quarter of 11 runes: 2
		{"pod.idd", "pod.id"},                          // short: one edit allowed
		{"pod.iddd", "pod.id"},                         // 8 runes: 2 edits
		{"pod", ""},                                    // a section, far from any key
		{"telemetry", ""},                              // likewise
		{"hardware.led_cnt", "hardware.led_count"},     // 2 edits in 16 runes
		{"safety.heart_rate_hi_bpm", "safety.heart_rate_high_bpm"},
		{"", ""},
	} {
		if got := suggest(tt.name, known); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"abc", "abc", 0},
		{"abc", "abd", 1},
		{"abc", "acb", 1}, // a transposition is one edit
		{"ca", "abc", 3},  // optimal string alignment: no substring edited twice (Damerau proper says 2)
		{"kitten", "sitting", 3},
		{"telemtry", "telemetry", 1},
		{"héllo", "hello", 1}, // runes, not bytes
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// The suggestion takes what a file or the environment holds: any string.
// It never panics, suggests only a known key within maxSuggestDistance,
// and the distance is symmetric, 0 exactly for equal strings and bounded
// by the longer string's length and below by the difference in lengths.
func FuzzSuggestKey(f *testing.F) {
	for _, s := range []string{"telemtry.interval", "", "pod", "ç\xff.x", "safety.heart_rate_hgh_bpm", "PODD_POD_ID", strings.Repeat("a", 300)} {
		f.Add(s, "telemetry.interval")
	}
	known := Keys()
	f.Fuzz(func(t *testing.T, name, other string) {
		if len(name) > 512 || len(other) > 512 {
			return // the quadratic distance on huge names says nothing new
		}
		got := suggest(name, known)
		if got != "" && (!slices.Contains(known, got) || editDistance(name, got) > maxSuggestDistance(name)) {
			t.Fatalf("suggest(%q) = %q: not a key within %d edits", name, got, maxSuggestDistance(name))
		}
		if slices.Contains(known, name) && got != name {
			t.Fatalf("suggest(%q) = %q, want the key itself", name, got)
		}
		d := editDistance(name, other)
		la, lb := utf8.RuneCountInString(name), utf8.RuneCountInString(other)
		if d != editDistance(other, name) || (d == 0) != (string([]rune(name)) == string([]rune(other))) || d > max(la, lb) || d < max(la-lb, lb-la) {
			t.Fatalf("editDistance(%q, %q) = %d (reverse %d)", name, other, d, editDistance(other, name))
		}
	})
}

// Finding: an embedded broker on 0.0.0.0 with anonymous access was
// accepted silently. It has no authentication, so any address but
// loopback is refused, naming the key and the fix; loopback stays allowed.
func TestAnEmbeddedBrokerOnEveryInterfaceIsRefused(t *testing.T) {
	const yaml = `
pod: {id: pod-7}
hardware: {mode: linux}
uplink:
  broker: embedded
  embedded_listen: "0.0.0.0:1883"
storage: {path: /var/lib/podd/podd.db}
api: {socket: /run/podd/podd.sock}
`
	_, err := Parse([]byte(yaml), nil)
	want := `uplink.embedded_listen: "0.0.0.0:1883" is not a loopback address (127.0.0.1, [::1] or localhost): the embedded broker has no authentication, so anyone on the network could read the sleeper's vitals and publish to the pod; listen on 127.0.0.1, or run a broker with authentication (mosquitto) and set uplink.broker to it`
	if err == nil || err.Error() != want {
		t.Fatalf("Parse = %v\nwant %s", err, want)
	}
	for _, addr := range []string{"127.0.0.1:1883", "[::1]:1883", "localhost:1883"} {
		c, err := Parse([]byte(strings.Replace(yaml, "0.0.0.0:1883", addr, 1)), nil)
		if err != nil || c.Uplink.EmbeddedListen != addr {
			t.Errorf("embedded_listen %s: %v", addr, err)
		}
	}
}
