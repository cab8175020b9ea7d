package uplink

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/sleegation/podd/hubcmd"
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

// inbound is the uplink's side of the commands: the queues paho's handler
// fills and the counts of what it let go.
type inbound struct {
	c        chan Inbound // commands on the pod's cmd topic
	aborts   chan Inbound // merge-wide aborts of the pod's merge
	session  atomic.Pointer[string]
	retained atomic.Uint64 // retained messages ignored
	dropped  atomic.Uint64 // commands let go on a full queue
	refused  atomic.Bool   // the broker refused a command subscription
	// send is held while a command is queued: one sender at a time, even
	// across a reconnection's handlers, so that the room made for a
	// merge/abort is its own (makeRoomFor).
	send sync.Mutex

	// recent are the merge-wide aborts of other merges, newest last (at
	// most recentAborts): a merge/start still waiting in the command queue
	// when its merge's abort arrives must not join an aborted merge.
	mu     sync.Mutex
	recent []recentAbort
}

type recentAbort struct {
	session string
	at      time.Time
}

// Bounds of the memory of other merges' aborts: the most recent ones, and
// no older than a hub command lives (hubcmd.MaxLifetime), so no merge/start
// still valid can predate its merge's abort unseen.
const (
	recentAborts   = 32
	recentAbortAge = 10 * time.Minute
)

// abortQueue is how many merge-wide aborts of the pod's merge wait: one is
// enough (more say the same), a few cover a session changing meanwhile.
const abortQueue = 4

// Commands delivers the commands received on the pod's cmd topic, in
// order. It is never closed.
func (u *Uplink) Commands() <-chan Inbound { return u.in.c }

// MergeAborts delivers the merge-wide aborts of the merge SetMergeSession
// named. They have their own queue, so no command (and no other merge's
// abort) can crowd one out; when it is full, aborts of that merge are
// already waiting. It is never closed.
func (u *Uplink) MergeAborts() <-chan Inbound { return u.in.aborts }

// SetMergeSession names the merge the pod is in ("" for none): the
// merge-wide aborts of other merges are let go on arrival.
//
// An abort of that merge received in the last recentAbortAge, while the pod
// was in no merge or another (its merge/start waiting to be handled), is
// delivered on MergeAborts at once.
func (u *Uplink) SetMergeSession(session string) {
	u.in.mu.Lock()
	u.in.session.Store(&session)
	var pending *recentAbort
	now := time.Now()
	for i, r := range u.in.recent {
		if session != "" && r.session == session && now.Sub(r.at) <= recentAbortAge {
			pending = &u.in.recent[i]
		}
	}
	u.in.mu.Unlock()
	if pending != nil {
		select {
		case u.in.aborts <- Inbound{Topic: "sleegation/v1/merges/" + session + "/abort", Session: session, Received: pending.at}:
		default: // aborts of this merge are already waiting
		}
	}
}

// CommandsRefused reports whether the broker refused the pod's subscription
// to its commands or to the merge-wide aborts on the current connection:
// the pod then cannot hear the hub's aborts.
func (u *Uplink) CommandsRefused() bool { return u.in.refused.Load() }

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
	if s, ok := mergeAbortSession(m.Topic()); ok {
		u.in.mu.Lock()
		if cur := u.in.session.Load(); cur == nil || *cur != s {
			// Another merge's, or none is under way: remembered, in case
			// the pod is about to join it.
			if len(u.in.recent) == recentAborts {
				u.in.recent = append(u.in.recent[:0], u.in.recent[1:]...)
			}
			u.in.recent = append(u.in.recent, recentAbort{session: s, at: time.Now()})
			u.in.mu.Unlock()
			return
		}
		u.in.mu.Unlock()
		select {
		case u.in.aborts <- Inbound{Topic: m.Topic(), Session: s, Received: time.Now()}:
		default: // aborts of this merge are already waiting
		}
		return
	}
	if m.Topic() != u.root+TopicCmd {
		return
	}
	in := Inbound{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), Received: time.Now()}
	u.in.send.Lock()
	defer u.in.send.Unlock()
	select {
	case u.in.c <- in:
		return
	default:
	}
	if r := u.rank(in); r > rankOther && u.makeRoomFor(r) {
		u.in.c <- in // room was made; send makes this the only sender
		return
	}
	u.letGo(in)
}

// The ranks of a command at a full queue, read unverified (hubcmd.PeekName,
// PeekSession): an abort naming the pod's merge goes before any other
// abort, which goes before any other command. Junk that names merge/abort
// of another merge (anyone who may publish on the cmd topic can write it)
// then never crowds out an abort of the pod's own merge; junk naming the
// pod's merge can still, which the broker's ACL on the cmd topic prevents.
const (
	rankOther = iota
	rankAbort
	rankOwnAbort
)

func (u *Uplink) rank(in Inbound) int {
	if !isAbort(in) {
		return rankOther
	}
	if s, ok := hubcmd.PeekSession(in.Payload); ok {
		if cur := u.in.session.Load(); cur != nil && *cur != "" && s == *cur {
			return rankOwnAbort
		}
	}
	return rankAbort
}

// letGo counts a command not queued; the first is logged.
func (u *Uplink) letGo(in Inbound) {
	if u.in.dropped.Add(1) == 1 {
		u.log.Warn("commands arriving faster than the pod handles them; let go", "topic", in.Topic)
	}
}

// isAbort reports whether a command names merge/abort, unverified
// (hubcmd.PeekName): it decides the queue, not what is done.
func isAbort(in Inbound) bool {
	name, ok := hubcmd.PeekName(in.Payload)
	return ok && name == hubcmd.MergeAbortName
}

// makeRoomFor lets the oldest queued command of a rank below r go, for a
// command of rank r arriving at a full queue. The commands of rank r or
// above ahead of it are taken from the head and queued again at the tail,
// in their order, behind the commands that followed them: only they move,
// and the others keep their order. It reports false when every queued
// message ranks r or above; they are then back in their order. The caller
// holds in.send, so that every slot freed here is this goroutine's to
// fill; the pod only takes from the queue.
func (u *Uplink) makeRoomFor(r int) bool {
	for range cap(u.in.c) {
		var head Inbound
		select {
		case head = <-u.in.c:
		default:
			return true // the pod read them meanwhile
		}
		if u.rank(head) < r {
			u.letGo(head)
			return true
		}
		u.in.c <- head // the slot it left
	}
	return false
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
	seq, err := u.append(u.root+TopicReply, at, body, false, nil)
	if err != nil {
		return 0, fmt.Errorf("uplink.Reply: %w", err)
	}
	return seq, nil
}
