package uplink

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sleegation/podd/journal"
)

// ackLink acknowledges every publish at once: a broker that costs nothing,
// so that a benchmark measures the drainer alone.
type ackLink struct{ done *fakeToken }

func newAckLink() *ackLink {
	tok := newFakeToken()
	tok.complete(nil)
	return &ackLink{done: tok}
}

func (l *ackLink) Publish(string, byte, bool, any) mqtt.Token             { return l.done }
func (l *ackLink) Subscribe(string, byte, mqtt.MessageHandler) mqtt.Token { return l.done }
func (l *ackLink) Disconnect(uint)                                        {}

// benchTelemetry is one record of a sleeping pod with every vital known,
// as internal/uplinkbench sends.
func benchTelemetry() Telemetry {
	f := func(v float64) *float64 { return &v }
	session := "s-7f3a2c"
	return Telemetry{
		State: "sleeping", Session: &session,
		Vitals:    Vitals{HeartRateBPM: f(58.25), SpO2Pct: f(97.5), SkinConductanceUS: f(3.875), BodyTempC: f(36.625)},
		Stability: f(0.875), Safety: "ok",
	}
}

func benchUplink(b *testing.B) (*Uplink, *journal.Store) {
	b.Helper()
	s, err := journal.Open(filepath.Join(b.TempDir(), "journal.db"), &journal.Options{MaxOutbox: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	u, err := New(Config{Broker: "tcp://127.0.0.1:1", Pod: "p1", Boot: "b1", ClockSynced: func() bool { return true }}, s)
	if err != nil {
		b.Fatal(err)
	}
	return u, s
}

// BenchmarkDrain is the drainer's own cost per record, the broker left
// out: read from the journal, publish (acknowledged at once), reap, and
// queue the deletion. The outbox holds b.N committed records first.
func BenchmarkDrain(b *testing.B) {
	u, s := benchUplink(b)
	t := benchTelemetry()
	for range b.N {
		if _, err := u.Telemetry(t, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Commit(); err != nil {
		b.Fatal(err)
	}
	l := newAckLink()
	c := newConn()
	c.link = l
	c.epoch = u.epoch.Add(1)
	c.startSeq.Store(uint64(b.N) + 1)
	d := drainer{u: u, c: c}
	ctx := context.Background()
	sent := 0
	b.ReportAllocs()
	b.ResetTimer()
	for {
		if err := d.fill(ctx); err != nil {
			b.Fatal(err)
		}
		if len(d.window) == 0 {
			break
		}
		sent += len(d.window)
		d.reap()
	}
	b.StopTimer()
	if sent != b.N {
		b.Fatalf("%d records sent, want %d", sent, b.N)
	}
}

// BenchmarkTelemetry is one Telemetry call: the body's JSON, the envelope,
// and the journal's AppendLazy (a commit every MaxBatch records).
func BenchmarkTelemetry(b *testing.B) {
	u, _ := benchUplink(b)
	t := benchTelemetry()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := u.Telemetry(t, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
