package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleegation/podd/internal/mqtttest"
)

func TestLoadTLSTrustsTheCAFileAndCarriesTheClientCertificate(t *testing.T) {
	ca := mqtttest.NewCA(t, "hub CA")
	pod := ca.Client(t, "pod-7")
	c, err := LoadTLS(ca.CertFile, pod.CertFile, pod.KeyFile, "hub.example")
	if err != nil {
		t.Fatal(err)
	}
	if c.MinVersion != tls.VersionTLS12 || c.ServerName != "hub.example" || len(c.Certificates) != 1 || c.InsecureSkipVerify {
		t.Fatalf("min %x, server name %q, %d certificates, insecure %v", c.MinVersion, c.ServerName, len(c.Certificates), c.InsecureSkipVerify)
	}
	server := parseCert(t, ca.Server(t).CertPEM)
	if _, err := server.Verify(x509.VerifyOptions{Roots: c.RootCAs, DNSName: "localhost"}); err != nil {
		t.Fatalf("a certificate of the CA does not verify against the pool: %v", err)
	}
	stranger := parseCert(t, mqtttest.NewCA(t, "another CA").Server(t).CertPEM)
	if _, err := stranger.Verify(x509.VerifyOptions{Roots: c.RootCAs, DNSName: "localhost"}); err == nil {
		t.Fatal("a certificate of another CA verifies against the pool")
	}
	if leaf := c.Certificates[0].Leaf; leaf == nil || leaf.Subject.CommonName != "pod-7" {
		t.Fatalf("client certificate %v, want pod-7's", leaf)
	}
}

func TestLoadTLSWithNoFilesUsesTheSystemRoots(t *testing.T) {
	c, err := LoadTLS("", "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.RootCAs != nil || len(c.Certificates) != 0 || c.ServerName != "" || c.MinVersion != tls.VersionTLS12 {
		t.Fatalf("%+v, want the system's roots, no certificate, TLS 1.2", c)
	}
}

func TestLoadTLSNamesTheFileAndWhatIsWrongWithIt(t *testing.T) {
	ca := mqtttest.NewCA(t, "hub CA")
	pod := ca.Client(t, "pod-7")
	other := ca.Client(t, "pod-8")
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := filepath.Join(dir, "missing.pem")
	text := write("text.pem", []byte("not a certificate\n"))
	badBlock := write("bad.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")}))
	for _, tc := range []struct {
		name                  string
		ca, cert, key, prefix string
	}{
		{"no CA file", missing, "", "", "uplink.LoadTLS: CA file: open " + missing + ": no such file or directory"},
		{"CA file without PEM", text, "", "", "uplink.LoadTLS: CA file " + text + ": no PEM certificate in it"},
		{"key as CA", pod.KeyFile, "", "", "uplink.LoadTLS: CA file " + pod.KeyFile + `: PEM block 1 is "PRIVATE KEY", want CERTIFICATE`},
		{"CA that does not parse", badBlock, "", "", "uplink.LoadTLS: CA file " + badBlock + ": certificate 1: x509: "},
		{"certificate alone", ca.CertFile, pod.CertFile, "", "uplink.LoadTLS: client certificate " + pod.CertFile + " given without its key file"},
		{"key alone", ca.CertFile, "", pod.KeyFile, "uplink.LoadTLS: client key " + pod.KeyFile + " given without its certificate file"},
		{"no certificate file", "", missing, pod.KeyFile, "uplink.LoadTLS: client certificate: open " + missing + ": no such file or directory"},
		{"no key file", "", pod.CertFile, missing, "uplink.LoadTLS: client key: open " + missing + ": no such file or directory"},
		{"key as certificate", "", pod.KeyFile, pod.KeyFile, "uplink.LoadTLS: client certificate " + pod.KeyFile + `: its first PEM block is "PRIVATE KEY", want CERTIFICATE`},
		{"certificate as key", "", pod.CertFile, pod.CertFile, "uplink.LoadTLS: client key " + pod.CertFile + `: its first PEM block is "CERTIFICATE", want PRIVATE KEY`},
		{"text as key", "", pod.CertFile, text, "uplink.LoadTLS: client key " + text + ": no PEM data in it"},
		{"another's key", "", pod.CertFile, other.KeyFile, "uplink.LoadTLS: client certificate " + pod.CertFile + " with key " + other.KeyFile + ": tls: private key does not match public key"},
	} {
		c, err := LoadTLS(tc.ca, tc.cert, tc.key, "")
		if err == nil || !strings.HasPrefix(err.Error(), tc.prefix) {
			t.Errorf("%s: LoadTLS = %v, %v\nwant an error starting %q", tc.name, c, err, tc.prefix)
		}
	}
}

func parseCert(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("no PEM")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
