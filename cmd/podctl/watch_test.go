package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/api"
)

// scriptedPod answers watch's polls: a heart rate one beat higher at each,
// and an error at the polls listed.
type scriptedPod struct {
	mu    sync.Mutex
	polls int
	fail  map[int]bool
}

func (p *scriptedPod) fetch(context.Context) (api.Status, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.polls++
	if p.fail[p.polls] {
		return api.Status{}, errors.New("podd is not running, or not on /run/podd/podd.sock")
	}
	hr := 60.0 + float64(p.polls)
	st := wellPod()
	st.Vitals = api.Vitals{HeartRateBPM: &hr, Contact: "skin"}
	return st, nil
}

// watchFor runs a watcher for d of the bubble's clock and returns what it
// wrote; it must return nil at once when its context ends (Ctrl-C).
func watchFor(t *testing.T, w *watcher, d time.Duration) string {
	t.Helper()
	var out strings.Builder
	w.out = &out
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.run(ctx) }()
	time.Sleep(d)
	synctest.Wait()
	cancel()
	synctest.Wait()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch ended with %v", err)
		}
	default:
		t.Fatal("watch did not end when its context did")
	}
	return out.String()
}

// Not on a terminal, watch prints one block per poll, every interval, a
// blank line after each; a poll podd does not answer is shown and the
// polling goes on.
func TestWatchPrintsABlockPerPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		p := &scriptedPod{fail: map[int]bool{2: true}}
		out := watchFor(t, &watcher{interval: time.Second, fetch: p.fetch}, 2500*time.Millisecond)
		frame := func(at time.Time, hr string) string {
			return "podctl watch, every 1s (Ctrl-C ends)   " + stamp(at) + "\n" +
				"pod        pod-1\nstate      idle since 2026-11-30T02:13:05Z\nsafety     ok\n" +
				"heart rate " + hr + " bpm\nSpO2       unknown\nsensor     sees the sleeper\noutputs    on\n" +
				"verdict    ok: nothing needs doing\n\n"
		}
		want := frame(start, "61") +
			"podctl watch, every 1s (Ctrl-C ends)   " + stamp(start.Add(time.Second)) + "\n" +
			"podd       NOT ANSWERING: podd is not running, or not on /run/podd/podd.sock\n           retrying\n\n" +
			frame(start.Add(2*time.Second), "63")
		if out != want {
			t.Fatalf("watch printed:\n%s\nwant:\n%s", out, want)
		}
	})
}

// On a terminal each frame starts by moving the cursor home and clearing
// the screen, and no blank line follows it.
func TestWatchRedrawsInPlaceOnATerminal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &scriptedPod{}
		out := watchFor(t, &watcher{interval: 500 * time.Millisecond, tty: true, fetch: p.fetch}, 1200*time.Millisecond)
		frames := strings.Split(out, clearScreen)
		if len(frames) != 4 || frames[0] != "" {
			t.Fatalf("watch on a terminal wrote %d frames after %q:\n%q", len(frames)-1, frames[0], out)
		}
		for i, f := range frames[1:] {
			if !strings.Contains(f, "\nheart rate "+[]string{"61", "62", "63"}[i]+" bpm\n") || strings.HasSuffix(f, "\n\n") {
				t.Errorf("frame %d:\n%q", i, f)
			}
		}
	})
}

// watch --json prints one object a line: the state, safety, vitals,
// outputs and findings, or the error of a poll podd did not answer.
func TestWatchJSONPrintsAnObjectALine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		p := &scriptedPod{fail: map[int]bool{3: true}}
		out := watchFor(t, &watcher{interval: time.Second, json: true, fetch: p.fetch}, 2500*time.Millisecond)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("watch --json wrote %d lines:\n%s", len(lines), out)
		}
		for i, l := range lines {
			var s watchSample
			if err := json.Unmarshal([]byte(l), &s); err != nil {
				t.Fatalf("line %d is not JSON: %v: %s", i, err, l)
			}
			if !s.At.Equal(start.Add(time.Duration(i) * time.Second)) {
				t.Errorf("line %d at %v", i, s.At)
			}
			if i == 2 {
				if s.Error != "podd is not running, or not on /run/podd/podd.sock" || s.State != "" {
					t.Errorf("line %d = %s, want the error only", i, l)
				}
				continue
			}
			if s.State != "idle" || s.Vitals == nil || *s.Vitals.HeartRateBPM != float64(61+i) || s.Outputs == nil || s.Safety == nil || s.Safety.Level != "ok" || s.Error != "" {
				t.Errorf("line %d = %s", i, l)
			}
		}
	})
}

// --interval below 100ms is bad input, before anything is polled.
func TestWatchRefusesATooShortInterval(t *testing.T) {
	var out strings.Builder
	root := newRoot(&out)
	root.SetArgs([]string{"--socket", "/nonexistent/podd.sock", "watch", "--interval", "10ms"})
	err := root.Execute()
	if exitCode(err) != exitBadInput || err.Error() != "--interval 10ms is below 100ms" {
		t.Fatalf("watch --interval 10ms = %v (exit %d)", err, exitCode(err))
	}
}

// Ctrl-C ends watch cleanly: the process, polling a pod over its socket,
// exits 0 on SIGINT after its first frame.
func TestWatchEndsCleanlyOnCtrlC(t *testing.T) {
	skipOtherProcessWhenShort(t)
	sock := serveAPI(t, &ackPod{})
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "--socket", sock, "watch", "--interval", "100ms")
	cmd.Env = append(os.Environ(), "PODCTL_TEST_RUN_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("watch ended before its first frame: %v", err)
		}
		if strings.HasPrefix(line, "outputs ") {
			break
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch after Ctrl-C: %v, want exit status 0", err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("watch did not end within 10 s of Ctrl-C")
	}
}
