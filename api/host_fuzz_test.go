package api

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Whatever the Host header holds, the listener serves a request only when
// it names a loopback IP address or localhost, with or without a port,
// and never panics.
func FuzzLoopbackHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1:9464", "localhost", "[::1]:9464", "[::ffff:127.0.0.1]", "evil.example", "127.0.0.1.nip.io", "[::1", "localhost:", ":9464", "", "[]", "0x7f.1"} {
		f.Add(s)
	}
	served := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := loopbackHost(served)
	f.Fuzz(func(t *testing.T, host string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = host
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent && rec.Code != http.StatusMisdirectedRequest {
			t.Fatalf("Host %q: %d", host, rec.Code)
		}
		if rec.Code != http.StatusNoContent {
			return
		}
		name := host
		if h, _, err := net.SplitHostPort(host); err == nil {
			name = h
		}
		name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
		if ip := net.ParseIP(name); !strings.EqualFold(name, "localhost") && (ip == nil || !ip.IsLoopback()) {
			t.Fatalf("Host %q served: %q is neither localhost nor a loopback IP address", host, name)
		}
	})
}
