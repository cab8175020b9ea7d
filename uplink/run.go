package uplink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// link is what the drainer and the probe need of one MQTT connection;
// mqtt.Client has it.
type link interface {
	Publish(topic string, qos byte, retained bool, payload any) mqtt.Token
	Subscribe(topic string, qos byte, callback mqtt.MessageHandler) mqtt.Token
	Disconnect(quiesce uint)
}

// conn is one established connection.
type conn struct {
	link   link
	broker string // the broker's URL, as configured
	epoch  uint64 // the Uplink's epoch while this connection is current
	// startSeq is the first seq made on this connection: records below it
	// were made before it and go out as historical. 0 until known: the
	// drainer reads the journal's next seq when it starts and, while that
	// fails, retries; an append made on the connection first fixes it too.
	startSeq atomic.Uint64
	// abort closes the connection's socket under paho, at once: every
	// pending token then fails and a publish blocked on a stalled writer
	// returns. It may be called more than once, from any goroutine; call it
	// through abortNow.
	abort   func()
	aborted atomic.Bool

	lost     chan struct{}
	lostOnce sync.Once

	// watch is what the subscription to the pod's own status has seen:
	// another pod's online status, or nothing yet.
	watch foreignWatch
}

func newConn() *conn {
	return &conn{lost: make(chan struct{}), abort: func() {}, watch: foreignWatch{found: make(chan struct{})}}
}

func (c *conn) markLost() { c.lostOnce.Do(func() { close(c.lost) }) }

// abortNow closes the socket and remembers it, so that nothing more is tried
// on the connection.
func (c *conn) abortNow() {
	c.aborted.Store(true)
	c.abort()
}

// disconnectQuiesce is how long a clean disconnect waits for the DISCONNECT
// packet to be written; paho's Disconnect returns after it at the latest.
const disconnectQuiesce = 250 // ms

// Run connects, drains the outbox and reconnects with backoff until ctx is
// done. Before each connection it checks that no other pod publishes under
// this pod's id, and while one does it publishes nothing and checks again
// with DuplicateBackoff (see "Another pod with this id" in the package doc).
// Once ctx is done it publishes the offline status and disconnects, and
// returns within Config.StopTimeout plus the disconnect quiesce (see
// "Stopping" in the package doc). It returns nil when ctx ends it and an
// error only if it is misused.
func (u *Uplink) Run(ctx context.Context) error {
	if !u.running.CompareAndSwap(false, true) {
		return errors.New("uplink.Run: already running")
	}
	defer u.running.Store(false)

	runDone := make(chan struct{})
	var guard sync.WaitGroup
	guard.Add(1)
	go func() {
		defer guard.Done()
		u.guardStop(ctx, runDone)
	}()
	defer func() {
		close(runDone)
		guard.Wait()
	}()

	// next is the broker the next attempt goes to: the first on start, the
	// one after a broker that failed, the same one after a connection that
	// worked (see "Brokers, TLS and credentials" in the package doc).
	next := 0
	attempt := 0
	dupChecks := 0 // checks in a row that found another pod
	for ctx.Err() == nil {
		if attempt > 0 && !u.sleep(ctx, u.cfg.Backoff.Delay(attempt, u.rng)) {
			break
		}
		broker := u.brokers[next]
		c, err := u.connect(ctx, broker)
		var dup *DuplicateError
		if errors.As(err, &dup) {
			// The broker answered: the next check goes to it again.
			if !u.holdOff(ctx, dup, &dupChecks) {
				break
			}
			attempt = 0
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				u.connectFault.fail(broker, err)
				u.recordConnectFailure(broker, err)
			}
			attempt++
			next = (next + 1) % len(u.brokers)
			continue
		}
		u.duplicateGone()
		dupChecks = 0
		u.connectFault.connected(broker, c.epoch)
		u.held.Store(c)
		err = u.serve(ctx, c)
		if ctx.Err() != nil {
			u.goodbye(c)
			u.held.Store(nil)
			break
		}
		if errors.As(err, &dup) {
			u.leave(c)
			u.held.Store(nil)
			if !u.holdOff(ctx, dup, &dupChecks) {
				break
			}
			attempt = 0
			continue
		}
		u.log.Info("connection ended", "broker", broker, "err", err)
		u.recordConnectionEnded(broker, err)
		u.close(c)
		u.held.Store(nil)
		// Wait a first backoff step even after a connection that worked: a
		// broker that accepts and drops at once must not be hammered, and
		// pods that lost the hub together come back spread out.
		attempt = 1
	}
	return nil
}

// guardStop aborts the held connection StopTimeout after ctx is done, unless
// Run returned first. Run's goroutine can be held past its own deadlines by
// paho's Publish, which blocks while its writer is stalled on a broker or a
// network that accepts no more bytes; closing the socket releases it and
// fails the goodbye's token, so Run keeps its stop budget.
func (u *Uplink) guardStop(ctx context.Context, runDone <-chan struct{}) {
	select {
	case <-runDone:
		return
	case <-ctx.Done():
	}
	t := time.NewTimer(u.cfg.StopTimeout)
	defer t.Stop()
	select {
	case <-runDone:
	case <-t.C:
		if c := u.held.Load(); c != nil {
			u.log.Warn("stop budget spent: closing the connection", "stop_timeout", u.cfg.StopTimeout)
			c.abortNow()
		}
	}
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

// leave ends a connection on which another pod's status arrived, without
// a word: an offline status, or the will, would overwrite the other pod's
// retained status, and a clean DISCONNECT discards the will.
func (u *Uplink) leave(c *conn) {
	u.epoch.Add(1)
	c.link.Disconnect(disconnectQuiesce)
}

// goodbye publishes the offline status and disconnects cleanly; a clean
// DISCONNECT discards the will, so the offline status must be sent by hand.
// The acknowledgement is waited for at most StopTimeout: a broker that does
// not answer by then gets the socket closed under it (by guardStop) and
// publishes the will instead, which says the same.
func (u *Uplink) goodbye(c *conn) {
	switch {
	case c.aborted.Load():
		// The stop budget went by before Run got here (paho held it in a
		// Publish): the socket is closed, and the will speaks instead. A
		// Publish now could block in paho again.
		u.log.Warn("offline status not sent: the connection was closed at the stop deadline")
	default:
		tok := c.link.Publish(u.topicStatus, 1, true, u.status(false, u.now()))
		if !tok.WaitTimeout(u.cfg.StopTimeout) {
			u.log.Warn("offline status not acknowledged", "timeout", u.cfg.StopTimeout)
		} else if err := tok.Error(); err != nil {
			u.log.Warn("offline status not sent", "err", err)
		}
	}
	u.epoch.Add(1)
	c.link.Disconnect(disconnectQuiesce)
}

// connectPaho checks, over a probe connection, that no other pod publishes
// under this pod's id, and returns that pod as a *DuplicateError if one
// does; otherwise it makes the pod's connection to broker.
func (u *Uplink) connectPaho(ctx context.Context, broker string) (*conn, error) {
	dup, err := u.probePaho(ctx, broker)
	if err != nil {
		return nil, err
	}
	if dup != nil {
		return nil, dup
	}
	u.duplicateGone()
	return u.dialPaho(ctx, broker, true)
}

// probeClientID is the client id of the probe: not the pod's, since a
// second connection under the pod's client id would make the broker drop
// the first, which may be another pod's.
func (u *Uplink) probeClientID() string { return u.cfg.ClientID + "-probe-" + u.cfg.Boot }

// probePaho opens the probe connection to broker, under probeClientID and
// without a will, runs the probe on it and closes it.
func (u *Uplink) probePaho(ctx context.Context, broker string) (*DuplicateError, error) {
	c, err := u.dialPaho(ctx, broker, false)
	if err != nil {
		return nil, err
	}
	// The stop guard closes the socket of a probe paho holds in Subscribe.
	u.held.Store(c)
	defer u.held.CompareAndSwap(c, nil)
	dup, err := u.probe(ctx, c)
	if ctx.Err() != nil {
		c.abortNow()
		c.link.Disconnect(0)
		return nil, ctx.Err()
	}
	// With no will, even a connection that ends badly says nothing.
	c.link.Disconnect(disconnectQuiesce)
	return dup, err
}

// dialPaho makes one connection attempt to broker with a fresh paho
// client: clean session, no paho reconnect, no paho store worth resuming.
// The journal is the store, and reconnecting is Run's job. MQTT 3.1.1 is
// asked for explicitly: otherwise paho answers a refused CONNECT (bad
// credentials) with a second connection, in MQTT 3.1, and a second TLS
// handshake. asPod makes the pod's own connection: its client id, its will,
// and the epoch advanced as it comes and goes; otherwise it is the probe's.
func (u *Uplink) dialPaho(ctx context.Context, broker string, asPod bool) (*conn, error) {
	c := newConn()
	c.broker = broker
	sock := &socket{}
	c.abort = sock.close
	tc := u.tlsConf[broker]
	up := make(chan struct{})
	opts := mqtt.NewClientOptions().
		AddBroker(broker).
		SetUsername(u.cfg.Username).
		SetPassword(u.cfg.Password).
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(u.cfg.ConnectTimeout).
		SetWriteTimeout(u.cfg.PublishTimeout).
		SetKeepAlive(u.cfg.KeepAlive).
		SetCustomOpenConnectionFn(func(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
			return sock.dial(ctx, o.ConnectTimeout, uri.Host, tc)
		})
	if asPod {
		opts.SetClientID(u.cfg.ClientID).
			SetOrderMatters(false).
			// The broker cannot say when the will fires, so its since is when
			// the connection it guards was attempted.
			SetBinaryWill(u.topicStatus, u.status(false, u.now()), 1, true).
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
	} else {
		opts.SetClientID(u.probeClientID()).
			// The probe judges messages in the order the broker sent them;
			// its handler only queues them, without blocking.
			SetOrderMatters(true).
			SetOnConnectHandler(func(mqtt.Client) { close(up) }).
			SetConnectionLostHandler(func(mqtt.Client, error) { c.markLost() })
	}
	client := mqtt.NewClient(opts)
	c.link = client

	tok := client.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		// Nothing is owed to a broker that has not accepted the connection,
		// and paho would wait up to ConnectTimeout for its CONNACK: closing
		// the socket ends that wait now (the dial and the TLS handshake follow
		// ctx).
		c.abortNow()
		if !tok.WaitTimeout(u.cfg.StopTimeout) {
			u.log.Warn("connect attempt did not end after cancel", "waited", u.cfg.StopTimeout)
		}
		client.Disconnect(0)
		return nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		if sock.askedForCertificate() && errors.Is(err, packets.ErrorNetworkError) {
			err = fmt.Errorf("%w: %w", errNoClientCertificate, err)
		}
		return nil, fmt.Errorf("uplink.connect: %w", err)
	}
	// OnConnect runs in its own goroutine, started before the token
	// completes; c.epoch is valid once up is closed.
	select {
	case <-up:
	case <-c.lost:
		return nil, fmt.Errorf("uplink.connect: %w before it was up", errConnectionLost)
	case <-ctx.Done():
		if asPod {
			u.close(c)
		} else {
			c.link.Disconnect(0)
		}
		return nil, ctx.Err()
	}
	return c, nil
}
