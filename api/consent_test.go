package api

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseConsentRequest(t *testing.T) {
	tests := []struct {
		body    string
		action  string
		d       time.Duration
		wantErr string
	}{
		{`{"action": "grant"}`, "grant", 0, ""},
		{`{"action": "grant", "for": "8h"}`, "grant", 8 * time.Hour, ""},
		{`{"action":"withdraw"}` + "\n", "withdraw", 0, ""},
		{`{"action": "grant", "for": "30s"}`, "", 0, "for 30s is outside 1m0s..24h0m0s"},
		{`{"action": "grant", "for": "25h"}`, "", 0, "for 25h0m0s is outside 1m0s..24h0m0s"},
		{`{"action": "grant", "for": "-1h"}`, "", 0, "for -1h0m0s is outside 1m0s..24h0m0s"},
		{`{"action": "grant", "for": "soon"}`, "", 0, `for "soon" is not a duration (write e.g. 8h or 90m)`},
		{`{"action": "withdraw", "for": "1h"}`, "", 0, `"for" goes only with a grant`},
		{`{"action": "start_merge"}`, "", 0, `action "start_merge": want grant or withdraw`},
		{`{}`, "", 0, `action "": want grant or withdraw`},
		{`{"action": "grant", "session": "m-1"}`, "", 0, `request is not a consent object`},
		{`{"action": "grant"} {"action": "withdraw"}`, "", 0, "request has data after its object"},
		{`["grant"]`, "", 0, "request is not a consent object"},
		{``, "", 0, "request is not a consent object"},
		{`{"action": "grant", "for": "` + strings.Repeat("1", 2000) + `h"}`, "", 0, "request larger than 1024 bytes"},
	}
	for _, tt := range tests {
		action, d, err := ParseConsentRequest(strings.NewReader(tt.body))
		if tt.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || action != "" || d != 0 {
				t.Errorf("%.60s: %q, %v, %v; want error %q", tt.body, action, d, err, tt.wantErr)
			}
			continue
		}
		if err != nil || action != tt.action || d != tt.d {
			t.Errorf("%.60s: %q, %v, %v; want %q, %v", tt.body, action, d, err, tt.action, tt.d)
		}
	}
}

// A request over the socket reaches the pod as a grant or a withdrawal by
// "api"; a bad one is answered 400 and reaches nothing.
func TestConsentOverTheSocket(t *testing.T) {
	pod := &fakePod{}
	c, _ := serve(t, pod)
	r, err := c.Consent(context.Background(), "grant", 8*time.Hour)
	if err != nil || !r.OK || !r.Consent.Granted || r.Consent.ExpiresAt == nil {
		t.Fatalf("grant: %+v, %v", r, err)
	}
	if r, err = c.Consent(context.Background(), "withdraw", 0); err != nil || !r.OK || r.Consent.Granted {
		t.Fatalf("withdraw: %+v, %v", r, err)
	}
	if _, err = c.Consent(context.Background(), "grant", time.Second); err == nil || err.Error() != "api: consent: 400: for 1s is outside 1m0s..24h0m0s" {
		t.Fatalf("grant for 1 s: %v", err)
	}
	if want := []string{"grant 8h0m0s by api", "withdraw by api"}; !slices.Equal(pod.consent, want) {
		t.Fatalf("the pod saw %v, want %v", pod.consent, want)
	}
}

// Whatever the body, the handler answers 200 or 400, never panics, and a
// 400 reaches nothing of the pod.
func FuzzConsentRequest(f *testing.F) {
	for _, s := range []string{`{"action":"grant"}`, `{"action":"grant","for":"8h"}`, `{"action":"withdraw"}`, `{"action":"grant","for":"1e400h"}`, `{`, `null`, `{"action":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pod := &fakePod{}
		h := NewServer(pod, "", nil).Handler()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/consent", bytes.NewReader(body)))
		switch w.Code {
		case http.StatusOK:
			if len(pod.consent) != 1 {
				t.Fatalf("200 after %d calls to the pod", len(pod.consent))
			}
		case http.StatusBadRequest:
			if len(pod.consent) != 0 {
				t.Fatalf("400 after the pod was called: %v", pod.consent)
			}
		default:
			t.Fatalf("status %d for %q", w.Code, body)
		}
	})
}
