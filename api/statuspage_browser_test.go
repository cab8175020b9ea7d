package api

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/safety"
)

// chromium returns the path of a Chromium (or Chrome) binary: $CHROMIUM,
// else the first of Debian's and others' names on $PATH. Without one the
// test is skipped, unless CI=1 or REQUIRE_CHROMIUM=1 (make test sets it),
// where it fails. Neither variable starts with PODD_: the daemons other
// tests start refuse a PODD_ variable that is no configuration key.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no chromium binary on $PATH (Debian: apt-get install chromium; or set CHROMIUM to one)"
	if os.Getenv("CI") == "1" || os.Getenv("REQUIRE_CHROMIUM") == "1" {
		t.Fatal(msg + "; CI=1 or REQUIRE_CHROMIUM=1 requires it")
	}
	t.Skip(msg + ": the status page's browser test is skipped")
	return ""
}

// browser starts a headless Chromium for the test and returns its
// context; it is closed at the end of the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.DisableGPU,
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox on.
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	if _, err := chromedp.Run(ctx, chromedp.Title()); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// waitText waits until the text of the element with id is want, for at
// most 10 s, and fails saying what it shows otherwise.
func waitText(t *testing.T, ctx context.Context, id, want string) {
	t.Helper()
	cond := fmt.Sprintf("document.getElementById(%q).textContent === %q", id, want)
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(tctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf("document.getElementById(%q).textContent", id)))
		t.Fatalf("#%s shows %q, want %q: %v", id, got, want, err)
	}
}

// evalString returns a JavaScript expression's string value in the page.
func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return s
}

// In headless Chromium the status page loads, shows the pod and its
// state, follows a change of the pod's state, hides the vitals unless
// they are exposed, and reconnects by itself to a podd restarted on the
// same address (here with its vitals exposed, which it then shows).
func TestStatusPageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test runs in the full run, not with -short (qemu-arm)")
	}
	ctx := browser(t)
	st := fullStatus()
	st.State, st.Safety.Level, st.Safety.Latched, st.Safety.Pending = controller.StateIdle, safety.LevelOK, nil, nil
	st.Outputs = Outputs{}
	pod := &statusPod{st: st}
	url, stop := serveReal(t, pod, PageOptions{StatusPage: true})
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()

	if _, err := chromedp.Run(ctx, chromedp.Navigate(url+"/")); err != nil {
		t.Fatalf("loading %s/: %v", url, err)
	}
	waitText(t, ctx, "pod", "pod-7")
	waitText(t, ctx, "state", "idle")
	waitText(t, ctx, "conn", "live")

	// Vitals hidden: the page says why, and holds no value of them.
	if h := evalString(t, ctx, `String(document.getElementById("vitals").hidden)`); h != "true" {
		t.Errorf("vitals hidden = %s, want true", h)
	}
	if note := evalString(t, ctx, `document.getElementById("vitals-note").textContent`); !strings.Contains(note, "vitals are hidden") || !strings.Contains(note, "api.expose_vitals") {
		t.Errorf("vitals note %q, want it to say they are hidden and how to show them", note)
	}
	if body := evalString(t, ctx, `document.body.innerText`); strings.Contains(body, "61.5") {
		t.Errorf("the page shows the heart rate with vitals hidden:\n%s", body)
	}

	// The pod aborts: the page follows without a reload.
	pod.set(func(s *Status) {
		s.State, s.Safety.Level = controller.StateAborted, safety.LevelAbort
		s.Safety.Latched = &safety.Abort{Rule: safety.RuleHeartRateHigh, At: time.Date(2026, 11, 30, 2, 13, 5, 0, time.UTC)}
	})
	waitText(t, ctx, "state", "aborted")
	if got := evalString(t, ctx, `[...document.querySelectorAll("#rules tr")].map(r => r.innerText.replace(/\s+/g, " ")).filter(r => r.includes("latched")).join("|")`); got != "heart_rate_high latched" {
		t.Errorf("latched rules on the page = %q, want heart_rate_high", got)
	}

	// podd restarts on the same address, now exposing the vitals: the page
	// reconnects by itself and shows them.
	addr := strings.TrimPrefix(url, "http://")
	stop()
	stopped = true
	waitText(t, ctx, "conn", "connection lost, reconnecting…")
	pod.set(func(s *Status) { s.State, s.Safety.Latched, s.Safety.Level = controller.StateIdle, nil, safety.LevelOK })
	_, stop2 := serveAt(t, addr, pod, PageOptions{StatusPage: true, ExposeVitals: true})
	defer stop2()
	waitText(t, ctx, "conn", "live")
	waitText(t, ctx, "state", "idle")
	waitText(t, ctx, "hr", "61.5 bpm")
	if h := evalString(t, ctx, `String(document.getElementById("vitals").hidden)`); h != "false" {
		t.Errorf("vitals hidden = %s with them exposed, want false", h)
	}
}
