package embedded

import (
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func client(t *testing.T, b *Broker, id string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().
		AddBroker("tcp://" + b.Addr().String()).
		SetClientID(id).
		SetAutoReconnect(false).
		SetConnectTimeout(2 * time.Second))
	tok := c.Connect()
	if !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: connect: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func TestARetainedMessageReachesALaterSubscriber(t *testing.T) {
	b, err := Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}()

	pub := client(t, b, "pub")
	tok := pub.Publish("sleegation/v1/pods/p1/status", 1, true, `{"online":true}`)
	if !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	pub.Disconnect(100)
	// The broker may acknowledge the publish before it keeps the retained
	// copy: wait until it holds it, or a subscriber could get it live.
	deadline := time.Now().Add(3 * time.Second)
	for len(b.server.Topics.Messages("sleegation/v1/pods/p1/status")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the broker kept no retained message within 3s")
		}
		time.Sleep(5 * time.Millisecond)
	}

	got := make(chan mqtt.Message, 1)
	sub := client(t, b, "sub")
	tok = sub.Subscribe("sleegation/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- m:
		default:
		}
	})
	if !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	select {
	case m := <-got:
		if m.Topic() != "sleegation/v1/pods/p1/status" || string(m.Payload()) != `{"online":true}` || !m.Retained() {
			t.Fatalf("got %s %q retained=%v", m.Topic(), m.Payload(), m.Retained())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no retained message within 3s")
	}
}

func TestStartOnABusyAddressFails(t *testing.T) {
	b, err := Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b2, err := Start(b.Addr().String(), nil); err == nil {
		b2.Close()
		t.Fatalf("second Start on %s succeeded", b.Addr())
	}
}
