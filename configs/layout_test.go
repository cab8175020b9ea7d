package configs

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func TestKeysWrittenTwiceAreRefused(t *testing.T) {
	// minimal takes lines 1 to 11: what follows it starts at line 12.
	for _, tc := range []struct {
		name    string
		yaml    string
		environ []string
		want    []string
	}{
		{
			name: "two spellings in a section",
			yaml: minimal + "safety:\n  heart_rate_high_bpm: 100\n  HEART_RATE_HIGH_BPM: 150\n",
			want: []string{`safety.heart_rate_high_bpm: written twice, as safety.heart_rate_high_bpm (line 13) and safety.HEART_RATE_HIGH_BPM (line 14); keys ignore case: write it once`},
		},
		{
			name: "the same spelling twice",
			yaml: minimal + "safety:\n  heart_rate_high_bpm: 100\n  heart_rate_high_bpm: 150\n",
			want: []string{`safety.heart_rate_high_bpm: written twice, as safety.heart_rate_high_bpm (line 13) and safety.heart_rate_high_bpm (line 14): write it once`},
		},
		{
			name: "a section in two spellings",
			yaml: minimal + "safety:\n  heart_rate_high_bpm: 100\nSafety:\n  heart_rate_high_bpm: 150\n",
			want: []string{`safety: written twice, as safety (line 12) and Safety (line 14); keys ignore case: write it once`},
		},
		{
			name: "a section twice",
			yaml: minimal + "pod:\n  id: pod-8\n",
			want: []string{`pod: written twice, as pod (line 2) and pod (line 12): write it once`},
		},
		{
			name: "a key and its dotted spelling",
			yaml: minimal + "safety:\n  heart_rate_high_bpm: 100\nSafety.Heart_Rate_High_BPM: 150\n",
			want: []string{`safety.heart_rate_high_bpm: written twice, as safety.heart_rate_high_bpm (line 13) and Safety.Heart_Rate_High_BPM (line 14); keys ignore case: write it once`},
		},
		{
			name: "three spellings in a flow mapping",
			yaml: minimal + "telemetry: {interval: 1s, Interval: 2s, INTERVAL: 3s}\n",
			want: []string{`telemetry.interval: written 3 times, as telemetry.interval (line 12), telemetry.Interval (line 12) and telemetry.INTERVAL (line 12); keys ignore case: write it once`},
		},
		{
			name: "a key a merge key brings in",
			yaml: minimal + "safety:\n  <<: &loose {heart_rate_high_bpm: 150}\n  HEART_RATE_HIGH_BPM: 100\n",
			want: []string{`safety.heart_rate_high_bpm: written twice, as safety.heart_rate_high_bpm (line 13) and safety.HEART_RATE_HIGH_BPM (line 14); keys ignore case: write it once`},
		},
		{
			name: "repetitions and other problems",
			yaml: strings.Replace(minimal, "pod-7", "Pod_7", 1) + "safety:\n  spo2_low_pct: 99\n  SpO2_Low_Pct: 92\n  stale_after: 30s\nLog:\n  level: verbose\nlog: {}\n",
			want: []string{
				`safety.spo2_low_pct: written twice, as safety.spo2_low_pct (line 13) and safety.SpO2_Low_Pct (line 14); keys ignore case: write it once`,
				`log: written twice, as Log (line 16) and log (line 18); keys ignore case: write it once`,
				`pod.id: "Pod_7" is not 1 to 32 characters of a-z, 0-9 and -`,
				`safety.stale_after: 30 s is outside the hard bounds 1..10 s`,
			},
		},
		{
			name:    "in the file, whatever the environment",
			yaml:    minimal + "safety:\n  heart_rate_high_bpm: 100\n  Heart_Rate_High_Bpm: 150\n",
			environ: []string{"PODD_SAFETY_HEART_RATE_HIGH_BPM=120"},
			want:    []string{`safety.heart_rate_high_bpm: written twice, as safety.heart_rate_high_bpm (line 13) and safety.Heart_Rate_High_Bpm (line 14); keys ignore case: write it once`},
		},
		{
			name:    "a check between keys, one of them written twice",
			yaml:    strings.Replace(minimal, "tcp://hub.local:1883", "embedded\n  embedded_listen: 127.0.0.1:1883\n  Embedded_Listen: 127.0.0.1:9464", 1),
			environ: []string{"PODD_API_METRICS_LISTEN=127.0.0.1:9464"},
			want:    []string{`uplink.embedded_listen: written twice, as uplink.embedded_listen (line 8) and uplink.Embedded_Listen (line 9); keys ignore case: write it once`},
		},
		{
			name: "the mode written twice, and no scenario",
			yaml: strings.Replace(minimal, "mode: linux", "mode: sim\n  MODE: sim", 1),
			want: []string{`hardware.mode: written twice, as hardware.mode (line 5) and hardware.MODE (line 6); keys ignore case: write it once`},
		},
		{
			name: "a name that would break the line",
			yaml: minimal + "\"x\\ny\": 1\n\"X\\nY\": 2\n",
			want: []string{`"x\ny": written twice, as "x\ny" (line 12) and "X\nY" (line 13); keys ignore case: write it once`},
		},
		{
			name: "a second document",
			yaml: minimal + "---\nsafety:\n  heart_rate_high_bpm: 150\n",
			want: []string{`configs: YAML: line 13: a second document (after ---); a configuration file holds one`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), tc.environ)
			if err == nil {
				t.Fatalf("Parse accepted %+v", c)
			}
			if got, want := err.Error(), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("Parse error:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestAnEnvironmentVariableOverridingAFileKeyIsNotARepetition(t *testing.T) {
	c, err := Parse([]byte(minimal+"safety:\n  heart_rate_high_bpm: 100\n"), []string{"PODD_SAFETY_HEART_RATE_HIGH_BPM=120"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Safety.HeartRateHighBPM != 120 {
		t.Errorf("heart_rate_high_bpm = %g; want 120, from the environment", c.Safety.HeartRateHighBPM)
	}
}

func TestASectionIsAMap(t *testing.T) {
	var sections []string
	for _, k := range keys() {
		s, _, _ := strings.Cut(k.name, ".")
		if !slices.Contains(sections, s) {
			sections = append(sections, s)
		}
	}
	for _, s := range sections {
		for value, shown := range map[string]string{
			"5":      "5",
			"text":   `"text"`,
			"[1, x]": `[1, "x"]`,
			"true":   "true",
		} {
			// Drop the section from minimal, then write it as a value.
			var doc []string
			skip := false
			for _, l := range strings.Split(minimal, "\n") {
				if l != "" && l[0] != ' ' {
					skip = l == s+":"
				}
				if !skip {
					doc = append(doc, l)
				}
			}
			yaml := strings.Join(doc, "\n") + "\n" + s + ": " + value + "\n"
			want := s + ": " + shown + " is not a section (a map of keys)"
			if _, err := Parse([]byte(yaml), nil); err == nil || err.Error() != want {
				t.Errorf("%s: %s: Parse = %v; want %q", s, value, err, want)
			}
		}
	}
}

func TestAnEmptySectionHoldsTheDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal+"safety:\ntelemetry: ~\nlog: {}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*c, minimalConfig()) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", *c, minimalConfig())
	}
}

func TestAnEmptySecondDocumentIsNone(t *testing.T) {
	for _, end := range []string{"---\n", "---\n# nothing\n", "---\n~\n", "...\n"} {
		if _, err := Parse([]byte(minimal+end), nil); err != nil {
			t.Errorf("minimal + %q: %v", end, err)
		}
	}
}

func TestAliasesAreWalkedWithinBounds(t *testing.T) {
	ten := func(alias string) string { return "[" + strings.Repeat(alias+", ", 9) + alias + "]" }
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{
			name: "a document that expands to 10^5 nodes",
			yaml: "a: &a " + ten("1") + "\nb: &b " + ten("*a") + "\nc: &c " + ten("*b") + "\nd: &d " + ten("*c") + "\ne: " + ten("*d") + "\n",
			want: "configs: YAML: more than 10000 keys and values, counting each use of an alias",
		},
		{
			name: "an alias inside its anchor",
			yaml: minimal + "x: &x {y: *x}\n",
			want: "configs: YAML: While parsing config: yaml: anchor 'x' value contains itself",
		},
		{
			name: "a merge of a mapping into itself",
			yaml: minimal + "x: &x {<<: *x}\n",
			want: "configs: YAML: While parsing config: yaml: anchor 'x' value contains itself",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), nil)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Parse = %v; want %q", err, tc.want)
			}
		})
	}
}

// spell writes s with the letters whose bit is set in mask in upper case.
func spell(s string, mask uint64) string {
	var b strings.Builder
	for i, r := range s {
		if mask>>(uint(i)%64)&1 == 1 {
			r = unicode.ToUpper(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// dupSections are minimal's sections, written one line each.
var dupSections = []struct{ name, body string }{
	{"pod", "{id: pod-7}"},
	{"hardware", "{mode: linux}"},
	{"uplink", "{broker: tcp://hub.local:1883}"},
	{"storage", "{path: /var/lib/podd/podd.db}"},
	{"api", "{socket: /run/podd/podd.sock}"},
}

// dupValues are values of every kind; which one a key holds makes no
// difference to a repetition.
var dupValues = []string{"1", "100", "1s", "x", "~", "[1]", "{}", "{a: 1}", ".nan", "true"}

// FuzzDuplicateKeys writes a key twice, in spellings, places and with
// values the fuzzer picks, and checks that the loader refuses it with the
// line that names both spellings.
func FuzzDuplicateKeys(f *testing.F) {
	f.Add(uint8(13), uint64(0), uint64(0), uint8(0), uint8(1), uint8(2))
	f.Add(uint8(13), uint64(0), ^uint64(0), uint8(0), uint8(1), uint8(2))
	f.Add(uint8(0), uint64(1), uint64(2), uint8(1), uint8(0), uint8(0))
	f.Add(uint8(4), uint64(1<<40), uint64(3), uint8(2), uint8(5), uint8(6))
	f.Add(uint8(19), uint64(7), uint64(1<<33), uint8(3), uint8(4), uint8(8))
	f.Add(uint8(12), uint64(1<<20), uint64(1<<21), uint8(4), uint8(9), uint8(3))
	f.Fuzz(func(t *testing.T, keyIndex uint8, mask1, mask2 uint64, form, value1, value2 uint8) {
		ks := keys()
		name := ks[int(keyIndex)%len(ks)].name
		section, leaf, _ := strings.Cut(name, ".")
		// The low 32 bits spell the key, the high 32 bits its section.
		s1, s2 := spell(section, mask1>>32), spell(section, mask2>>32)
		k1, k2 := spell(leaf, mask1), spell(leaf, mask2)
		v1, v2 := dupValues[int(value1)%len(dupValues)], dupValues[int(value2)%len(dupValues)]

		var doc []string
		for _, s := range dupSections {
			if s.name != section {
				doc = append(doc, s.name+": "+s.body)
			}
		}
		first := len(doc) + 1 // the line of the first spelling
		var want string
		switch form % 5 {
		case 0: // both in one section
			doc = append(doc, s1+":", "  "+k1+": "+v1, "  "+k2+": "+v2)
			want = repeated(name, s1+"."+k1, first+1, s1+"."+k2, first+2)
		case 1: // in the section, and dotted at the top level
			doc = append(doc, s1+":", "  "+k1+": "+v1, s2+"."+k2+": "+v2)
			want = repeated(name, s1+"."+k1, first+1, s2+"."+k2, first+2)
		case 2: // dotted at the top level, twice
			doc = append(doc, s1+"."+k1+": "+v1, s2+"."+k2+": "+v2)
			want = repeated(name, s1+"."+k1, first, s2+"."+k2, first+1)
		case 3: // the section twice
			doc = append(doc, s1+":", "  "+k1+": "+v1, s2+":", "  "+k2+": "+v2)
			want = repeated(section, s1, first, s2, first+2)
		case 4: // a flow mapping
			doc = append(doc, s1+": {"+k1+": "+v1+", "+k2+": "+v2+"}")
			want = repeated(name, s1+"."+k1, first, s1+"."+k2, first)
		}
		yaml := strings.Join(doc, "\n") + "\n"
		c, err := Parse([]byte(yaml), nil)
		if err == nil {
			t.Fatalf("Parse accepted\n%s\nas %+v", yaml, *c)
		}
		if !slices.Contains(strings.Split(err.Error(), "\n"), want) {
			t.Fatalf("Parse of\n%s\n= %v\nwant the line %q", yaml, err, want)
		}
	})
}

// repeated is the line for a key written twice.
func repeated(key, spelled1 string, line1 int, spelled2 string, line2 int) string {
	fix := ": write it once"
	if spelled1 != spelled2 {
		fix = "; keys ignore case: write it once"
	}
	return fmt.Sprintf("%s: written twice, as %s (line %d) and %s (line %d)%s", key, spelled1, line1, spelled2, line2, fix)
}
