package hubclient

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sleegation/podd/hubcmd"
)

// Topics of the contract (contract/asyncapi.yaml) the hub uses.
const (
	// HubStatusTopic is the hub's retained status (online, ts) and its will.
	HubStatusTopic = "sleegation/v1/hub/status"
	podsRoot       = "sleegation/v1/pods/"
	mergesRoot     = "sleegation/v1/merges/"
)

// PodTopic is a pod's topic of kind: status, telemetry, events, reply or
// cmd.
func PodTopic(pod, kind string) string { return podsRoot + pod + "/" + kind }

// MergeAbortTopic is the merge-wide abort of session.
func MergeAbortTopic(session string) string { return mergesRoot + session + "/abort" }

// ErrNoReply is what Await returns when no reply came within its timeout.
var ErrNoReply = errors.New("hubclient: no reply")

// ErrClosed is what a Client's methods return once it is closed or its
// connection is lost.
var ErrClosed = errors.New("hubclient: the connection is closed")

// ConnectOptions are a Client's transport, credentials and timeouts, the
// same choices the pod's uplink offers: tcp:// or mqtt:// for plain TCP,
// ssl://, tls:// or mqtts:// for TLS (TLS nil: the system's roots under the
// broker's host name; at least TLS 1.2 either way), and a user name and
// password in the CONNECT.
type ConnectOptions struct {
	TLS      *tls.Config
	Username string
	Password string
	// ConnectTimeout bounds the connection (dial, handshake, CONNACK); 10 s
	// when 0.
	ConnectTimeout time.Duration
	// OpTimeout bounds each publish and subscribe; 10 s when 0.
	OpTimeout time.Duration
	// KeepAlive is the MQTT keep-alive; 30 s when 0.
	KeepAlive time.Duration
	// Now is the clock of the hub status's and the receipts' ts; time.Now
	// when nil.
	Now func() time.Time
	// DeferOnline: Connect registers the will but does not publish the
	// hub online; Announce (or FollowWith with receipts) does, once the
	// hub listens. A hub that publishes receipts connects so, or pods
	// requiring the hub may send before it has subscribed.
	DeferOnline bool
}

// Client is a hub's connection to the broker. On Connect it publishes the
// hub's retained status, online, with a will of online false (retained);
// Close publishes online false itself, since a clean disconnect discards
// the will. It does not reconnect: once the connection is lost (Lost is
// closed) every call fails with ErrClosed and the caller connects again.
//
// Every goroutine a Client starts (paho's, and each Follower's) is stopped
// by Close, which waits for them.
type Client struct {
	c    mqtt.Client
	opts ConnectOptions

	mu        sync.Mutex
	closed    bool
	lost      chan struct{}
	replySubs map[string]bool            // pods whose reply topic is subscribed
	waiters   map[string]*waiter         // by jti
	replySeen map[string]map[uint64]bool // (pod, seq) of the replies seen, for Await
	followers map[*Follower]bool
	subs      map[string]int // topic filter -> subscribers (followers and Send)
}

type waiter struct {
	pod string
	c   chan Reply
}

// Reply is a pod's answer to a command (its reply topic).
type Reply struct {
	Pod   string `json:"pod"`
	Boot  string `json:"boot"`
	Seq   uint64 `json:"seq"`
	TS    string `json:"ts"`
	JTI   string `json:"jti"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Reason is the stable reason code of a refusal, the error up to its
// first ": " ("no_consent", "replayed", ...); "" when OK.
func (r Reply) Reason() string {
	reason, _, _ := strings.Cut(r.Error, ": ")
	return reason
}

// Connect connects to broker as clientID and publishes the hub's online
// status.
func Connect(broker, clientID string, o ConnectOptions) (*Client, error) {
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.OpTimeout == 0 {
		o.OpTimeout = 10 * time.Second
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if clientID == "" {
		return nil, errors.New("hubclient.Connect: no client id")
	}
	if strings.HasPrefix(broker, "ssl://") || strings.HasPrefix(broker, "tls://") || strings.HasPrefix(broker, "mqtts://") {
		tc := &tls.Config{}
		if o.TLS != nil {
			tc = o.TLS.Clone()
		}
		if tc.MinVersion < tls.VersionTLS12 {
			tc.MinVersion = tls.VersionTLS12
		}
		o.TLS = tc
	} else if o.TLS != nil {
		return nil, fmt.Errorf("hubclient.Connect: broker %q is plain TCP but a TLS configuration is set: use ssl://", broker)
	}
	cl := &Client{
		opts:      o,
		lost:      make(chan struct{}),
		replySubs: map[string]bool{},
		waiters:   map[string]*waiter{},
		replySeen: map[string]map[uint64]bool{},
		followers: map[*Follower]bool{},
		subs:      map[string]int{},
	}
	will := HubStatusPayload(false, o.Now())
	po := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(clientID).
		SetCleanSession(true).
		SetProtocolVersion(4).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(o.ConnectTimeout).
		SetKeepAlive(o.KeepAlive).
		SetWriteTimeout(o.OpTimeout).
		SetOrderMatters(true). // dispatch never blocks; records keep the broker's order
		SetBinaryWill(HubStatusTopic, will, 1, true).
		SetConnectionLostHandler(func(mqtt.Client, error) { cl.markLost() })
	if o.TLS != nil {
		po.SetTLSConfig(o.TLS)
	}
	if o.Username != "" {
		po.SetUsername(o.Username)
		po.SetPassword(o.Password)
	}
	cl.c = mqtt.NewClient(po)
	tok := cl.c.Connect()
	if !tok.WaitTimeout(o.ConnectTimeout + time.Second) {
		cl.c.Disconnect(0)
		return nil, fmt.Errorf("hubclient.Connect: %s: no CONNACK within %s", broker, o.ConnectTimeout)
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("hubclient.Connect: %s: %w", broker, err)
	}
	if o.DeferOnline {
		return cl, nil
	}
	if err := cl.publishStatus(true); err != nil {
		cl.c.Disconnect(0)
		return nil, fmt.Errorf("hubclient.Connect: the hub's status: %w", err)
	}
	return cl, nil
}

// HubStatusPayload is the hub's status as the Client publishes it:
// {"online":online,"ts":now in RFC 3339, UTC}.
func HubStatusPayload(online bool, now time.Time) []byte {
	b, _ := json.Marshal(struct {
		Online bool   `json:"online"`
		TS     string `json:"ts"`
	}{online, now.UTC().Format(time.RFC3339Nano)}) // a bool and a string: Marshal cannot fail
	return b
}

func (cl *Client) publishStatus(online bool) error {
	return cl.publish(HubStatusTopic, HubStatusPayload(online, cl.opts.Now()), true)
}

func (cl *Client) markLost() {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	select {
	case <-cl.lost:
	default:
		close(cl.lost)
	}
}

// Lost is closed when the connection is lost, or closed.
func (cl *Client) Lost() <-chan struct{} { return cl.lost }

func (cl *Client) usable() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closed {
		return ErrClosed
	}
	select {
	case <-cl.lost:
		return ErrClosed
	default:
		return nil
	}
}

// wait waits for tok within OpTimeout.
func (cl *Client) wait(tok mqtt.Token, what string) error {
	if !tok.WaitTimeout(cl.opts.OpTimeout) {
		return fmt.Errorf("hubclient: %s: not acknowledged within %s", what, cl.opts.OpTimeout)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("hubclient: %s: %w", what, err)
	}
	return nil
}

// publish sends at QoS 1 and waits for the broker's PUBACK.
func (cl *Client) publish(topic string, payload []byte, retained bool) error {
	if err := cl.usable(); err != nil {
		return err
	}
	return cl.wait(cl.c.Publish(topic, 1, retained, payload), "publish on "+topic)
}

// Publish sends payload on topic at QoS 1, retained or not, and waits for
// the broker's PUBACK. It is the raw door, for tests of what a pod must
// refuse (a retained command, a forged one); Send is the hub's way.
func (cl *Client) Publish(topic string, payload []byte, retained bool) error {
	return cl.publish(topic, payload, retained)
}

// subscribe adds one subscriber to each filter, subscribing to those that
// had none.
func (cl *Client) subscribe(filters ...string) error {
	var fresh []string
	cl.mu.Lock()
	for _, f := range filters {
		if cl.subs[f] == 0 {
			fresh = append(fresh, f)
		}
		cl.subs[f]++
	}
	cl.mu.Unlock()
	if len(fresh) == 0 {
		return nil
	}
	m := make(map[string]byte, len(fresh))
	for _, f := range fresh {
		m[f] = 1
	}
	if err := cl.wait(cl.c.SubscribeMultiple(m, cl.dispatch), "subscribe"); err != nil {
		cl.unsubscribe(filters...)
		return err
	}
	return nil
}

// unsubscribe removes one subscriber from each filter, unsubscribing from
// those left with none.
func (cl *Client) unsubscribe(filters ...string) {
	var gone []string
	cl.mu.Lock()
	for _, f := range filters {
		if cl.subs[f]--; cl.subs[f] <= 0 {
			delete(cl.subs, f)
			gone = append(gone, f)
		}
	}
	cl.mu.Unlock()
	if len(gone) > 0 && cl.usable() == nil {
		_ = cl.wait(cl.c.Unsubscribe(gone...), "unsubscribe")
	}
}

// dispatch is paho's handler for every subscription: it hands a reply to
// its waiter and every message to the followers of its pod. It never
// blocks.
func (cl *Client) dispatch(_ mqtt.Client, m mqtt.Message) {
	pod, kind, ok := splitPodTopic(m.Topic())
	if !ok {
		return
	}
	payload := append([]byte(nil), m.Payload()...)
	if kind == "reply" && !m.Retained() {
		cl.reply(pod, payload)
	}
	cl.mu.Lock()
	fs := make([]*Follower, 0, len(cl.followers))
	for f := range cl.followers {
		fs = append(fs, f)
	}
	cl.mu.Unlock()
	for _, f := range fs {
		f.receive(pod, kind, payload, m.Retained())
	}
}

func splitPodTopic(topic string) (pod, kind string, ok bool) {
	rest, ok := strings.CutPrefix(topic, podsRoot)
	if !ok {
		return "", "", false
	}
	pod, kind, ok = strings.Cut(rest, "/")
	return pod, kind, ok && pod != "" && !strings.Contains(kind, "/")
}

// maxRepliesSeen bounds the (pod, seq) of replies remembered per pod to
// tell a reply delivered twice from a new one.
const maxRepliesSeen = 4096

func (cl *Client) reply(pod string, payload []byte) {
	var r Reply
	if json.Unmarshal(payload, &r) != nil || r.JTI == "" {
		return
	}
	r.Pod = pod
	cl.mu.Lock()
	defer cl.mu.Unlock()
	seen := cl.replySeen[pod]
	if seen == nil || len(seen) >= maxRepliesSeen {
		seen = map[uint64]bool{}
		cl.replySeen[pod] = seen
	}
	if seen[r.Seq] {
		return // the same reply again (at-least-once delivery)
	}
	seen[r.Seq] = true
	w, ok := cl.waiters[r.JTI]
	if !ok || w.pod != pod {
		return
	}
	select {
	case w.c <- r:
	default: // a second reply to the same jti (a replay's refusal): Await takes the first
	}
}

// Send publishes a command on the pod's cmd topic (QoS 1, never retained),
// after subscribing to the pod's reply topic, so that Await(tok.ID, ...)
// receives the reply. A Token from Signer.Sign or UnsignedAbort; sending
// the same Token twice is a replay, which the pod refuses.
func (cl *Client) Send(pod string, tok Token) error {
	if err := checkPod(pod); err != nil {
		return err
	}
	if tok.ID == "" {
		return errors.New("hubclient.Send: a command without a jti gets no reply")
	}
	if err := cl.usable(); err != nil {
		return err
	}
	cl.mu.Lock()
	needSub := !cl.replySubs[pod]
	cl.replySubs[pod] = true
	cl.waiters[tok.ID] = &waiter{pod: pod, c: make(chan Reply, 1)}
	cl.mu.Unlock()
	if needSub {
		if err := cl.subscribe(PodTopic(pod, "reply")); err != nil {
			cl.mu.Lock()
			delete(cl.replySubs, pod)
			delete(cl.waiters, tok.ID)
			cl.mu.Unlock()
			return err
		}
	}
	if err := cl.publish(PodTopic(pod, "cmd"), tok.Raw, false); err != nil {
		cl.mu.Lock()
		delete(cl.waiters, tok.ID)
		cl.mu.Unlock()
		return err
	}
	return nil
}

// Await waits up to timeout for the reply to the command jti that Send
// sent, and forgets it: ErrNoReply when none came, ErrClosed when the
// connection ended first. A reply refusing the command is a Reply with OK
// false, not an error.
func (cl *Client) Await(jti string, timeout time.Duration) (Reply, error) {
	cl.mu.Lock()
	w, ok := cl.waiters[jti]
	cl.mu.Unlock()
	if !ok {
		return Reply{}, fmt.Errorf("hubclient.Await: %q was not sent by this client, or was awaited already", jti)
	}
	defer func() {
		cl.mu.Lock()
		if cl.waiters[jti] == w {
			delete(cl.waiters, jti)
		}
		cl.mu.Unlock()
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-w.c:
		return r, nil
	case <-cl.lost:
		select {
		case r := <-w.c:
			return r, nil
		default:
		}
		return Reply{}, ErrClosed
	case <-t.C:
		return Reply{}, fmt.Errorf("%w to %s within %s", ErrNoReply, jti, timeout)
	}
}

// Request is Send then Await.
func (cl *Client) Request(pod string, tok Token, timeout time.Duration) (Reply, error) {
	if err := cl.Send(pod, tok); err != nil {
		return Reply{}, err
	}
	return cl.Await(tok.ID, timeout)
}

// AbortMerge publishes a merge-wide abort on
// sleegation/v1/merges/{session}/abort (QoS 1, not retained): every pod in
// that merge ends it. The pods read only the topic; the payload is an
// unsigned merge/abort for that merge, for whoever logs it. No pod
// replies.
func (cl *Client) AbortMerge(session, reason string) error {
	tok, err := UnsignedAbort(hubcmd.MergeAbort{Session: session, Reason: reason}, hubcmd.MergeAudience(session))
	if err != nil {
		return fmt.Errorf("hubclient.AbortMerge: %w", err)
	}
	return cl.publish(MergeAbortTopic(session), tok.Raw, false)
}

func checkPod(pod string) error {
	if pod == "" || strings.ContainsAny(pod, "/+#") {
		return fmt.Errorf("hubclient: pod id %q: 1 or more characters, none of / + #", pod)
	}
	return nil
}

// Close stops every Follower, publishes the hub's status offline (retained)
// and disconnects. It is safe to call more than once.
func (cl *Client) Close() error {
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return nil
	}
	fs := make([]*Follower, 0, len(cl.followers))
	for f := range cl.followers {
		fs = append(fs, f)
	}
	cl.mu.Unlock()
	for _, f := range fs {
		f.Close()
	}
	var err error
	if cl.usable() == nil {
		err = cl.publishStatus(false)
	}
	cl.mu.Lock()
	cl.closed = true
	cl.mu.Unlock()
	cl.c.Disconnect(250)
	cl.markLost()
	return err
}
