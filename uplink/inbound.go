package uplink

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Topics the pod subscribes to.
const (
	// TopicCmd is the hub's commands to the pod, under Root(pod).
	TopicCmd = "cmd"
	// TopicReply is the pod's replies to them, under Root(pod).
	TopicReply = "reply"
	// MergeAbortFilter is the merge-wide abort of every merge:
	// sleegation/v1/merges/{session}/abort.
	MergeAbortFilter = "sleegation/v1/merges/+/abort"
)

// inboundQueue is how many received commands wait for the pod; more are
// let go (and counted), so a flood of messages never blocks paho's
// delivery or grows memory.
const inboundQueue = 16

// Inbound is one message the hub sent the pod: a command on Root(pod)+"cmd",
// or a merge-wide abort on sleegation/v1/merges/{session}/abort (Session
// set). Retained messages are never delivered: a command is acted on only
// when sent, never replayed by the broker to a pod that connects later.
type Inbound struct {
	Topic    string
	Payload  []byte
	Received time.Time
	// Session is the merge a merge-wide abort names; "" for a command.
	Session string
}

// inbound is the uplink's side of the commands: the queue paho's handler
// fills and the counts of what it let go.
type inbound struct {
	c        chan Inbound
	retained atomic.Uint64 // retained messages ignored
	dropped  atomic.Uint64 // messages let go on a full queue
}

// Commands delivers the commands received, in order. It is never closed.
func (u *Uplink) Commands() <-chan Inbound { return u.in.c }

// InboundDropped is how many received messages were not delivered: retained
// ones (never acted on) and those let go on a full queue.
func (u *Uplink) InboundDropped() (retained, full uint64) {
	return u.in.retained.Load(), u.in.dropped.Load()
}

// handle is the paho message handler of the command subscriptions. It never
// blocks.
func (u *Uplink) handle(_ mqtt.Client, m mqtt.Message) {
	if m.Retained() {
		u.in.retained.Add(1)
		u.log.Warn("retained command ignored", "topic", m.Topic())
		return
	}
	in := Inbound{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), Received: time.Now()}
	if s, ok := mergeAbortSession(m.Topic()); ok {
		in.Session = s
	} else if m.Topic() != u.root+TopicCmd {
		return
	}
	select {
	case u.in.c <- in:
	default:
		if u.in.dropped.Add(1) == 1 {
			u.log.Warn("commands arriving faster than the pod handles them; let go", "topic", m.Topic())
		}
	}
}

// mergeAbortSession returns the session of a merge-wide abort's topic.
func mergeAbortSession(topic string) (string, bool) {
	rest, ok := strings.CutPrefix(topic, "sleegation/v1/merges/")
	if !ok {
		return "", false
	}
	session, ok := strings.CutSuffix(rest, "/abort")
	if !ok || session == "" || strings.Contains(session, "/") {
		return "", false
	}
	return session, true
}

// Reply is the pod's answer to a command, on Root(pod)+"reply": the
// command's jti, whether it was done, and if not why (a stable reason
// code, with detail after ": ").
type Reply struct {
	JTI   string `json:"jti"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Reply journals a reply durably and wakes the drainer, as Event does.
func (u *Uplink) Reply(r Reply, at time.Time) (uint64, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("uplink.Reply: %w", err)
	}
	seq, err := u.append(u.root+TopicReply, at, body, false)
	if err != nil {
		return 0, fmt.Errorf("uplink.Reply: %w", err)
	}
	return seq, nil
}
