package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/uplink"
)

// bench is what every row shares.
type bench struct {
	broker string // broker URL
	dir    string // where the journals go
	window int    // messages in flight, for the uplink and the baseline alike
	log    *slog.Logger
}

// telemetry is one record of a sleeping pod with every vital known: with
// its envelope, about 300 bytes on the wire.
func telemetry() uplink.Telemetry {
	f := func(v float64) *float64 { return &v }
	session := "s-7f3a2c"
	return uplink.Telemetry{
		State:   "sleeping",
		Session: &session,
		Vitals: uplink.Vitals{
			HeartRateBPM: f(58.25), SpO2Pct: f(97.5), SkinConductanceUS: f(3.875), BodyTempC: f(36.625),
		},
		Stability: f(0.875),
		Safety:    "ok",
	}
}

// openStore opens a fresh journal file named name in b.dir, with room for
// records in its outbox.
func (b *bench) openStore(name string, records int) (*journal.Store, error) {
	var opts journal.Options
	if records >= 150000 {
		// The default (200000) drops the oldest records past it.
		opts.MaxOutbox = 2 * records
	}
	s, err := journal.Open(filepath.Join(b.dir, name+".db"), &opts)
	if err != nil {
		return nil, fmt.Errorf("journal.Open: %w", err)
	}
	return s, nil
}

// newUplink makes an uplink for pod over s. probeWait 0 is the uplink's
// default.
func (b *bench) newUplink(pod string, s *journal.Store, probeWait time.Duration) (*uplink.Uplink, error) {
	u, err := uplink.New(uplink.Config{
		Broker:      b.broker,
		Pod:         pod,
		Version:     "uplinkbench",
		Window:      b.window,
		ProbeWait:   probeWait,
		ClockSynced: func() bool { return true },
		Logger:      b.log,
	}, s)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// running is an uplink whose Run is in progress.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func start(ctx context.Context, u *uplink.Uplink) *running {
	ctx, cancel := context.WithCancel(ctx)
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- u.Run(ctx) }()
	return r
}

// stop ends Run and waits for it.
func (r *running) stop() error {
	r.cancel()
	if err := <-r.done; err != nil {
		return fmt.Errorf("uplink.Run: %w", err)
	}
	return nil
}

// poll checks cond every interval until it holds, ctx is done or within
// has passed.
func poll(ctx context.Context, within, interval time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %v", what, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func connected(u *uplink.Uplink) func() (bool, error) {
	return func() (bool, error) { return u.Connected(), nil }
}

func outboxEmpty(s *journal.Store) func() (bool, error) {
	return func() (bool, error) {
		recs, err := s.Pending(0, 1)
		return len(recs) == 0, err
	}
}

// appendTelemetry appends n telemetry records through u and returns how
// long it took.
func appendTelemetry(u *uplink.Uplink, n int) (time.Duration, error) {
	t := telemetry()
	start := time.Now()
	for range n {
		if _, err := u.Telemetry(t, time.Now()); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// payloadSize is the size of one telemetry message as the broker delivers
// it, read by a subscriber of a pod of its own, so that the baseline sends
// what the uplink sends and the rows' topics have no subscriber.
func (b *bench) payloadSize(ctx context.Context) (int, error) {
	const pod = "pod-calib"
	got := make(chan int, 1)
	sub := mqtt.NewClient(mqtt.NewClientOptions().
		AddBroker(b.broker).
		SetClientID("uplinkbench-calibration").
		SetProtocolVersion(4).
		SetAutoReconnect(false).
		SetConnectTimeout(5 * time.Second))
	if err := wait(sub.Connect(), 10*time.Second); err != nil {
		return 0, fmt.Errorf("subscriber connect: %w", err)
	}
	defer sub.Disconnect(100)
	if err := wait(sub.Subscribe(uplink.Root(pod)+uplink.TopicTelemetry, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- len(m.Payload()):
		default:
		}
	}), 10*time.Second); err != nil {
		return 0, fmt.Errorf("subscribe: %w", err)
	}

	s, err := b.openStore(pod, 1)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	u, err := b.newUplink(pod, s, 100*time.Millisecond)
	if err != nil {
		return 0, err
	}
	r := start(ctx, u)
	defer r.stop()
	if _, err := appendTelemetry(u, 1); err != nil {
		return 0, err
	}
	select {
	case n := <-got:
		return n, nil
	case <-time.After(15 * time.Second):
		return 0, errors.New("calibration: no telemetry message within 15s")
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// wait waits for tok at most d and returns its error.
func wait(tok mqtt.Token, d time.Duration) error {
	if !tok.WaitTimeout(d) {
		return fmt.Errorf("no answer within %v", d)
	}
	return tok.Error()
}

// baseline publishes n payloads at QoS 1 with plain paho, at most b.window
// unacknowledged at a time (the oldest is waited for, as the uplink's
// drainer does), to a topic nobody subscribes to. It returns the time from
// the first publish to the last acknowledgement.
func (b *bench) baseline(n int, payload []byte) (time.Duration, error) {
	c := mqtt.NewClient(mqtt.NewClientOptions().
		AddBroker(b.broker).
		SetClientID("uplinkbench-baseline").
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetOrderMatters(false).
		SetConnectTimeout(10 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetKeepAlive(30 * time.Second))
	if err := wait(c.Connect(), 15*time.Second); err != nil {
		return 0, fmt.Errorf("baseline connect: %w", err)
	}
	defer c.Disconnect(250)
	const topic = "uplinkbench/baseline"
	inflight := make([]mqtt.Token, 0, b.window)
	start := time.Now()
	for range n {
		if len(inflight) == b.window {
			if err := wait(inflight[0], 10*time.Second); err != nil {
				return 0, fmt.Errorf("baseline publish: %w", err)
			}
			inflight = append(inflight[:0], inflight[1:]...)
		}
		inflight = append(inflight, c.Publish(topic, 1, false, payload))
	}
	for _, tok := range inflight {
		if err := wait(tok, 10*time.Second); err != nil {
			return 0, fmt.Errorf("baseline publish: %w", err)
		}
	}
	return time.Since(start), nil
}

// durableResult is row 2.
type durableResult struct {
	appended  time.Duration // the appends alone, with the uplink draining meanwhile
	delivered time.Duration // from the first append until the outbox is empty
}

// durable appends n telemetry records with the uplink connected and
// delivering, and times them until the last is acknowledged and deleted.
func (b *bench) durable(ctx context.Context, pod string, n int, probeWait time.Duration) (durableResult, error) {
	var res durableResult
	s, err := b.openStore(pod, n)
	if err != nil {
		return res, err
	}
	defer s.Close()
	u, err := b.newUplink(pod, s, probeWait)
	if err != nil {
		return res, err
	}
	r := start(ctx, u)
	if err := poll(ctx, 30*time.Second, time.Millisecond, "the uplink to connect", connected(u)); err != nil {
		r.stop()
		return res, err
	}
	t0 := time.Now()
	if res.appended, err = appendTelemetry(u, n); err != nil {
		r.stop()
		return res, err
	}
	err = poll(ctx, 5*time.Minute, 2*time.Millisecond, "the outbox to empty", outboxEmpty(s))
	res.delivered = time.Since(t0)
	if stopErr := r.stop(); err == nil {
		err = stopErr
	}
	return res, err
}

// backlogResult is rows 3 and 4.
type backlogResult struct {
	appended  time.Duration // n appends, no uplink running
	connected time.Duration // from Run until the connection is up (the check for another pod included)
	drained   time.Duration // from the connection up until the outbox is empty
}

// backlog appends n records while no uplink runs, then starts one and times
// the drain of the outbox.
func (b *bench) backlog(ctx context.Context, pod string, n int) (backlogResult, error) {
	var res backlogResult
	s, u, appended, err := b.appendOnly(pod, n, 0)
	if err != nil {
		return res, err
	}
	defer s.Close()
	res.appended = appended
	t0 := time.Now()
	r := start(ctx, u)
	if err := poll(ctx, 30*time.Second, time.Millisecond, "the uplink to connect", connected(u)); err != nil {
		r.stop()
		return res, err
	}
	t1 := time.Now()
	res.connected = t1.Sub(t0)
	err = poll(ctx, 10*time.Minute, 2*time.Millisecond, "the outbox to empty", outboxEmpty(s))
	res.drained = time.Since(t1)
	if stopErr := r.stop(); err == nil {
		err = stopErr
	}
	return res, err
}

// appendOnly opens a fresh journal for pod and appends n telemetry records
// through an uplink that is not running. The caller closes the store.
func (b *bench) appendOnly(pod string, n int, probeWait time.Duration) (*journal.Store, *uplink.Uplink, time.Duration, error) {
	s, err := b.openStore(pod, n)
	if err != nil {
		return nil, nil, 0, err
	}
	u, err := b.newUplink(pod, s, probeWait)
	if err != nil {
		s.Close()
		return nil, nil, 0, err
	}
	d, err := appendTelemetry(u, n)
	if err != nil {
		s.Close()
		return nil, nil, 0, err
	}
	return s, u, d, nil
}
