// Package embedded runs an MQTT broker inside podd for development and the
// simulator (`make run`), so the pod's messages can be watched with
// `mosquitto_sub -h 127.0.0.1 -t 'sleegation/#' -v` without a city hub. It
// owns the broker and its listener; it allows every client and every topic
// and keeps nothing on disk, so it must never be used on a pod in service.
package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is a running embedded broker.
type Broker struct {
	server *mochi.Server
	addr   net.Addr

	closeOnce sync.Once
	closeErr  error
}

// Start listens on addr (host:port; port 0 picks a free one) and serves MQTT
// 3.1.1 and 5 on it until Close.
func Start(addr string, logger *slog.Logger) (*Broker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded.Start: %w", err)
	}
	server := mochi.New(&mochi.Options{
		Logger:       logger.With("component", "embedded-broker"),
		InlineClient: false,
	})
	if err := server.AddHook(new(auth.AllowHook), nil); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("embedded.Start: AddHook: %w", err)
	}
	if err := server.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("embedded.Start: AddListener: %w", err)
	}
	// Serve starts the listener and event loop in goroutines of the server's
	// own and returns; Close stops them.
	if err := server.Serve(); err != nil {
		return nil, errors.Join(fmt.Errorf("embedded.Start: Serve: %w", err), server.Close())
	}
	return &Broker{server: server, addr: ln.Addr()}, nil
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() net.Addr { return b.addr }

// Close disconnects every client, stops the listener and waits for the
// client goroutines to end. Calling it again returns the first result.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		if err := b.server.Close(); err != nil {
			b.closeErr = fmt.Errorf("embedded.Close: %w", err)
		}
	})
	return b.closeErr
}
