package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// LoadTLS builds a Config.TLS from PEM files. caFile holds the certificates
// of the CAs that sign the brokers' certificates; "" trusts the system's
// roots instead. certFile and keyFile are the pod's client certificate and
// its private key, for a broker that asks for one: both or neither.
// serverName is the name the brokers' certificates must carry; "" means the
// host of each broker URL. The configuration asks for TLS 1.2 at least.
//
// Certificates are not checked for their dates here: a pod may start with
// its clock in 1970, and the handshake checks them once it connects.
func LoadTLS(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if caFile != "" {
		pool, err := loadCAs(caFile)
		if err != nil {
			return nil, fmt.Errorf("uplink.LoadTLS: %w", err)
		}
		c.RootCAs = pool
	}
	switch {
	case certFile != "" && keyFile == "":
		return nil, fmt.Errorf("uplink.LoadTLS: client certificate %s given without its key file", certFile)
	case certFile == "" && keyFile != "":
		return nil, fmt.Errorf("uplink.LoadTLS: client key %s given without its certificate file", keyFile)
	case certFile != "":
		pair, err := loadPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("uplink.LoadTLS: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// loadCAs reads every certificate of a PEM file into a pool. Any block that
// is not a certificate, or does not parse, is an error: a key or a
// corrupt file where the CA should be is a mistake to report, not skip.
func loadCAs(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n++
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("CA file %s: PEM block %d is %q, want CERTIFICATE", file, n, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CA file %s: certificate %d: %w", file, n, err)
		}
		pool.AddCert(cert)
	}
	if n == 0 {
		return nil, fmt.Errorf("CA file %s: no PEM certificate in it", file)
	}
	return pool, nil
}

// loadPair reads a client certificate and its private key, saying which
// file is at fault where it can.
func loadPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("client certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("client key: %w", err)
	}
	if block, _ := pem.Decode(certPEM); block == nil || block.Type != "CERTIFICATE" {
		return tls.Certificate{}, fmt.Errorf("client certificate %s: %w", certFile, errNoPEM("CERTIFICATE", block))
	}
	if block, _ := pem.Decode(keyPEM); block == nil || (block.Type != "PRIVATE KEY" && block.Type != "EC PRIVATE KEY" && block.Type != "RSA PRIVATE KEY") {
		return tls.Certificate{}, fmt.Errorf("client key %s: %w", keyFile, errNoPEM("PRIVATE KEY", block))
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("client certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return pair, nil
}

func errNoPEM(want string, got *pem.Block) error {
	if got == nil {
		return errors.New("no PEM data in it")
	}
	return fmt.Errorf("its first PEM block is %q, want %s", got.Type, want)
}
