package uplink

import (
	"net"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// TestPahoCompletesAnUnacknowledgedPublishOnReconnect pins down the paho
// behaviour the epoch rule exists for. With paho's own reconnect, a QoS 1
// publish that never got a PUBACK survives the lost connection (client.go:574
// skips messageIds.cleanUp when reconnecting); on the new connection resume()
// re-sends it under the same message id (client.go:1118), and claimID
// completes the old token with no error (messageids.go:97). The broker below
// never acknowledges anything, yet the token reports success.
func TestPahoCompletesAnUnacknowledgedPublishOnReconnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	// The broker: accept, CONNACK, read packets, never PUBACK. The first
	// connection is dropped after the first PUBLISH arrives.
	publishes := make(chan *packets.PublishPacket, 4)
	brokerDone := make(chan struct{})
	go func() {
		defer close(brokerDone)
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			serveSilently(c, publishes, i == 0)
		}
	}()

	client := mqtt.NewClient(mqtt.NewClientOptions().
		AddBroker("tcp://" + ln.Addr().String()).
		SetClientID("paho-probe").
		SetAutoReconnect(true).
		SetConnectTimeout(time.Second).
		SetMaxReconnectInterval(100 * time.Millisecond))
	if tok := client.Connect(); !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer func() {
		client.Disconnect(0)
		ln.Close()
		<-brokerDone
	}()

	tok := client.Publish("probe", 1, false, []byte("x"))
	first := waitPublish(t, publishes)
	if first.Dup {
		t.Fatal("first send marked dup")
	}
	// The connection drops; paho reconnects and re-sends.
	again := waitPublish(t, publishes)
	if !again.Dup || again.MessageID != first.MessageID {
		t.Fatalf("resend dup=%v id=%d, want a dup of id %d", again.Dup, again.MessageID, first.MessageID)
	}
	if !tok.WaitTimeout(3 * time.Second) {
		t.Fatal("token still pending: paho no longer completes it on resume; revisit the epoch rule's comment")
	}
	if tok.Error() != nil {
		t.Fatalf("token error %v: paho now reports the loss; the epoch rule is still needed for other paths", tok.Error())
	}
}

// serveSilently speaks just enough MQTT for a client to connect and publish.
func serveSilently(c net.Conn, publishes chan<- *packets.PublishPacket, dropAfterPublish bool) {
	defer c.Close()
	for {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		p, err := packets.ReadPacket(c)
		if err != nil {
			return
		}
		switch p := p.(type) {
		case *packets.ConnectPacket:
			ack := packets.NewControlPacket(packets.Connack).(*packets.ConnackPacket)
			if err := ack.Write(c); err != nil {
				return
			}
		case *packets.PingreqPacket:
			_ = packets.NewControlPacket(packets.Pingresp).Write(c)
		case *packets.PublishPacket:
			publishes <- p
			if dropAfterPublish {
				return
			}
		case *packets.DisconnectPacket:
			return
		}
	}
}

func waitPublish(t *testing.T, ch <-chan *packets.PublishPacket) *packets.PublishPacket {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no PUBLISH at the broker within 5s")
		return nil
	}
}
