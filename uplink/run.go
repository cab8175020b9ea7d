package uplink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// link is what the drainer needs of one MQTT connection; mqtt.Client has it.
type link interface {
	Publish(topic string, qos byte, retained bool, payload any) mqtt.Token
	Disconnect(quiesce uint)
}

// conn is one established connection.
type conn struct {
	link  link
	epoch uint64 // the Uplink's epoch while this connection is current
	// startSeq is the journal's next seq when the connection came up: records
	// below it were made before it and go out as historical.
	startSeq uint64

	lost     chan struct{}
	lostOnce sync.Once
}

func newConn() *conn { return &conn{lost: make(chan struct{})} }

func (c *conn) markLost() { c.lostOnce.Do(func() { close(c.lost) }) }

// disconnectQuiesce is how long a clean disconnect waits for the DISCONNECT
// packet to be written.
const disconnectQuiesce = 250 // ms

// Run connects, drains the outbox and reconnects with backoff until ctx is
// done. Before returning it publishes the offline status (bounded by
// PublishTimeout) and disconnects. It returns nil when ctx ends it and an
// error only if it is misused.
func (u *Uplink) Run(ctx context.Context) error {
	if !u.running.CompareAndSwap(false, true) {
		return errors.New("uplink.Run: already running")
	}
	defer u.running.Store(false)

	attempt := 0
	for ctx.Err() == nil {
		if attempt > 0 && !u.sleep(ctx, u.cfg.Backoff.Delay(attempt, u.rng)) {
			break
		}
		c, err := u.connect(ctx)
		if err != nil {
			if ctx.Err() == nil {
				u.log.Info("connect failed", "broker", u.cfg.Broker, "attempt", attempt+1, "err", err)
			}
			attempt++
			continue
		}
		u.log.Info("connected", "broker", u.cfg.Broker, "epoch", c.epoch)
		err = u.serve(ctx, c)
		if ctx.Err() != nil {
			u.goodbye(c)
			break
		}
		u.log.Info("connection ended", "err", err)
		u.close(c)
		// Wait a first backoff step even after a connection that worked: a
		// broker that accepts and drops at once must not be hammered, and
		// pods that lost the hub together come back spread out.
		attempt = 1
	}
	return nil
}

// sleep waits d or until ctx is done; it reports whether d elapsed.
func (u *Uplink) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// close ends a connection this package gave up on. paho calls no
// OnConnectionLost for it, so the epoch is advanced here.
func (u *Uplink) close(c *conn) {
	u.epoch.Add(1)
	c.link.Disconnect(0)
}

// goodbye publishes the offline status and disconnects cleanly; a clean
// DISCONNECT discards the will, so the offline status must be sent by hand.
func (u *Uplink) goodbye(c *conn) {
	tok := c.link.Publish(u.topicStatus, 1, true, u.status(false, u.now()))
	if !tok.WaitTimeout(u.cfg.PublishTimeout) {
		u.log.Warn("offline status not acknowledged", "timeout", u.cfg.PublishTimeout)
	} else if err := tok.Error(); err != nil {
		u.log.Warn("offline status not sent", "err", err)
	}
	u.epoch.Add(1)
	c.link.Disconnect(disconnectQuiesce)
}

// connectPaho makes one connection attempt with a fresh paho client: clean
// session, no paho reconnect, no paho store worth resuming. The journal is
// the store, and reconnecting is Run's job.
func (u *Uplink) connectPaho(ctx context.Context) (*conn, error) {
	c := newConn()
	up := make(chan struct{})
	opts := mqtt.NewClientOptions().
		AddBroker(u.cfg.Broker).
		SetClientID(u.cfg.ClientID).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(false).
		SetConnectTimeout(u.cfg.ConnectTimeout).
		SetWriteTimeout(u.cfg.PublishTimeout).
		SetKeepAlive(u.cfg.KeepAlive).
		// The broker cannot say when the will fires, so its since is when
		// the connection it guards was attempted.
		SetBinaryWill(u.topicStatus, u.status(false, u.now()), 1, true).
		SetCustomOpenConnectionFn(func(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
			return dialer(ctx, o.ConnectTimeout)(uri)
		}).
		// paho starts each handler in a goroutine of its own; they only
		// advance the epoch and close a channel.
		SetOnConnectHandler(func(mqtt.Client) {
			c.epoch = u.epoch.Add(1)
			close(up)
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			u.epoch.Add(1)
			u.connected.Store(false)
			c.markLost()
		})
	client := mqtt.NewClient(opts)
	c.link = client

	tok := client.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		// The dial follows ctx and paho bounds the CONNACK wait by
		// ConnectTimeout, so this wait is bounded too.
		if !tok.WaitTimeout(u.cfg.ConnectTimeout + time.Second) {
			u.log.Warn("connect attempt did not end after cancel")
		}
		client.Disconnect(0)
		return nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("uplink.connect: %w", err)
	}
	// OnConnect runs in its own goroutine, started before the token
	// completes; c.epoch is valid once up is closed.
	select {
	case <-up:
	case <-c.lost:
		return nil, fmt.Errorf("uplink.connect: %w before it was up", errConnectionLost)
	case <-ctx.Done():
		u.close(c)
		return nil, ctx.Err()
	}
	seq, err := u.store.NextSeq()
	if err != nil {
		u.close(c)
		return nil, fmt.Errorf("uplink.connect: %w", err)
	}
	c.startSeq = seq
	return c, nil
}
