package mqtttest

import (
	"net"
	"strconv"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Frozen, the broker still has its socket (the kernel completes the TCP
// handshake) but sends no CONNACK; thawed, it serves again.
func TestAFrozenBrokerAnswersNothingUntilThawed(t *testing.T) {
	m := Start(t, false)
	m.Freeze()

	nc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(m.Port), time.Second)
	if err != nil {
		t.Fatalf("dial a frozen broker: %v, want its socket still open", err)
	}
	nc.Close()

	c := mqtt.NewClient(mqtt.NewClientOptions().
		AddBroker(m.URL()).
		SetClientID("frozen-probe").
		SetAutoReconnect(false).
		SetProtocolVersion(4).
		SetConnectTimeout(300 * time.Millisecond))
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatal("connect attempt still pending after 5s")
	}
	if tok.Error() == nil {
		c.Disconnect(0)
		t.Fatal("connected to a frozen broker")
	}

	m.Thaw()
	s := Subscribe(t, m.URL(), "probe", "thawed-probe", true)
	if s.client == nil || !s.client.IsConnected() {
		t.Fatal("subscriber not connected after Thaw")
	}
}

func TestStopEndsAFrozenBroker(t *testing.T) {
	m := Start(t, false)
	m.Freeze()
	exited := m.exited
	m.Stop()
	select {
	case <-exited:
	default:
		t.Fatal("Stop returned with the broker still running")
	}
	m.Stop() // a second Stop, as the test's cleanup does, is harmless
}
