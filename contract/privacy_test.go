package contract_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/uplink"
)

// Raw waveforms never leave the pod (issue 7, part 9): the pod publishes
// on its four topics only, and what it publishes holds derived values, no
// series of samples.

// maxNumbers is the most numbers an array the pod publishes may hold: a
// few derived values (the EEG band powers), never a stretch of samples (the
// oximeter gives 25 a second per channel).
const maxNumbers = 8

// sampleWords are the words of a field name that would carry raw samples:
// the oximeter's channels and FIFO, samples, waveforms.
var sampleWords = map[string]bool{
	"ir": true, "red": true, "sample": true, "samples": true, "waveform": true, "waveforms": true,
	"fifo": true, "raw": true, "ppg": true, "signal": true, "trace": true,
}

// sampleCounts are the fields named with a sampleWords word that the pod
// does publish, each a single count, checked to be a number: the fault
// event of a FIFO overflow counts the samples it lost.
var sampleCounts = map[string]bool{"lost_samples": true}

// podTopics are the topics the pod publishes on; the hub's command topic
// is the only other one a run may use.
var podTopics = map[string]bool{uplink.TopicStatus: true, uplink.TopicTelemetry: true, uplink.TopicEvents: true, uplink.TopicReply: true}

// privacyProblems checks one message seen on sleegation/#: its topic
// against the allow-list (the pod's four; the hub's cmd, status and
// merge-wide aborts), and a pod's
// payload for arrays of more than maxNumbers numbers and for fields named
// with a sampleWords word (but the sampleCounts, as numbers). It returns what it found, nil when nothing.
func privacyProblems(pod, topic string, payload []byte) []string {
	if session, ok := strings.CutSuffix(strings.TrimPrefix(topic, "sleegation/v1/merges/"), "/abort"); topic == hubclient.HubStatusTopic ||
		ok && topic == hubclient.MergeAbortTopic(session) && !strings.Contains(session, "/") {
		return nil // the hub's
	}
	kind, ok := strings.CutPrefix(topic, uplink.Root(pod))
	switch {
	case !ok:
		return []string{fmt.Sprintf("a message on %s, outside pod %s's topics", topic, pod)}
	case kind == uplink.TopicCmd:
		return nil // the hub's
	case !podTopics[kind]:
		return []string{fmt.Sprintf("the pod published on %s, which is not one of its topics", topic)}
	}
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		return []string{fmt.Sprintf("%s: not JSON: %v", topic, err)}
	}
	var problems []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if _, isNumber := e.(float64); sampleCounts[k] && isNumber {
					continue
				}
				for _, w := range words(k) {
					if sampleWords[w] {
						problems = append(problems, fmt.Sprintf("%s: field %s%s is named like raw samples", topic, path, k))
					}
				}
				walk(path+k+".", e)
			}
		case []any:
			n := 0
			for _, e := range x {
				if _, ok := e.(float64); ok {
					n++
				}
				walk(path+"[].", e)
			}
			if n > maxNumbers {
				problems = append(problems, fmt.Sprintf("%s: %s holds %d numbers, more than %d", topic, strings.TrimSuffix(path, "."), n, maxNumbers))
			}
		}
	}
	walk("", v)
	return problems
}

// words splits a field name into its lower-case words: at every
// character that is not a letter, and where a lower-case letter meets an
// upper-case one (lastSamples: last, samples).
func words(name string) []string {
	var out []string
	var w []rune
	flush := func() {
		if len(w) > 0 {
			out = append(out, strings.ToLower(string(w)))
			w = w[:0]
		}
	}
	prevLower := false
	for _, r := range name {
		switch {
		case !unicode.IsLetter(r):
			flush()
		case unicode.IsUpper(r) && prevLower:
			flush()
		}
		if unicode.IsLetter(r) {
			w = append(w, r)
		}
		prevLower = unicode.IsLower(r)
	}
	flush()
	return out
}

// The check itself finds what it is there to find.
func TestThePrivacyCheckFindsSamplesAndStrayTopics(t *testing.T) {
	root := uplink.Root("p")
	nums := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprint(51234 + i)
		}
		return "[" + strings.Join(s, ",") + "]"
	}
	for _, tc := range []struct {
		topic, payload string
		bad            bool
	}{
		{root + "telemetry", `{"vitals":{"heart_rate_bpm":58,"spo2_pct":97}}`, false},
		{root + "telemetry", `{"eeg":` + nums(maxNumbers) + `}`, false},
		{root + "cmd", `anything: the hub's`, false},
		{hubclient.HubStatusTopic, `the hub's`, false},
		{hubclient.MergeAbortTopic("m-1"), `the hub's`, false},
		{"sleegation/v1/merges/m-1/samples", `{}`, true},
		{root + "telemetry", `{"vitals":{"ir":` + nums(maxNumbers+1) + `}}`, true},
		{root + "events", `{"type":"fault","detail":{"x":` + nums(32) + `}}`, true},
		{root + "events", `{"type":"fault","red_led":1}`, true},
		{root + "events", `{"type":"fault","lastSamples":1}`, true},
		{root + "events", `{"type":"fault","tired":1,"redo":2,"fifoverflow":3}`, false}, // words, not parts of words
		{root + "events", `{"type":"fault","last_samples":1}`, true},
		{root + "events", `{"type":"fault","lost_samples":12}`, false},
		{root + "events", `{"type":"fault","lost_samples":[1,2]}`, true},
		{root + "telemetry", `{"Waveform":"AAEC"}`, true},
		{root + "telemetry", `{"list":[{"fifo":[]}]}`, true},
		{root + "waveform", `{}`, true},
		{"sleegation/v1/pods/other/telemetry", `{}`, true},
		{root + "telemetry", `not json`, true},
	} {
		if got := privacyProblems("p", tc.topic, []byte(tc.payload)); (len(got) > 0) != tc.bad {
			t.Errorf("%s %s: problems %q, want some: %v", tc.topic, tc.payload, got, tc.bad)
		}
	}
}
