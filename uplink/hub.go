package uplink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Topics of the hub's side that the pod reads with Config.RequireHub.
const (
	// HubStatusTopic is the hub's retained status, {"online":bool,"ts":RFC 3339},
	// and its will (online false).
	HubStatusTopic = "sleegation/v1/hub/status"
	// TopicReceipt is the hub's retained receipt for the pod, under
	// Root(pod): {"upto":N,"ts":RFC 3339}.
	TopicReceipt = "receipt"
)

// DefaultReceiptTimeout is used for a zero Config.ReceiptTimeout.
const DefaultReceiptTimeout = 30 * time.Second

// maxHubPayload bounds the hub's status and receipt payloads; anything
// longer is refused unread.
const maxHubPayload = 256

// HubStatus is the hub's status message.
type HubStatus struct {
	Online bool      // the hub is there and reads the pods' records
	TS     time.Time // when the hub published it, by the hub's clock
}

// Receipt is the hub's receipt for one pod: it holds every record of the
// pod with seq <= Upto, or knows it lost it (a dropped event covered it).
type Receipt struct {
	Upto uint64
	TS   time.Time
}

// ParseHubStatus parses a hub status payload strictly: a JSON object of
// exactly "online" (a boolean) and "ts" (RFC 3339), at most 256 bytes. Any
// other shape is an error.
func ParseHubStatus(b []byte) (HubStatus, error) {
	var v struct {
		Online *bool   `json:"online"`
		TS     *string `json:"ts"`
	}
	if err := strictJSON(b, &v); err != nil {
		return HubStatus{}, fmt.Errorf("hub status: %w", err)
	}
	if v.Online == nil || v.TS == nil {
		return HubStatus{}, errors.New("hub status: online and ts are required")
	}
	ts, err := time.Parse(time.RFC3339Nano, *v.TS)
	if err != nil {
		return HubStatus{}, fmt.Errorf("hub status: ts: %w", err)
	}
	return HubStatus{Online: *v.Online, TS: ts}, nil
}

// ParseReceipt parses a receipt payload strictly: a JSON object of exactly
// "upto" (an integer from 0 to 2^53-1, a seq) and "ts" (RFC 3339), at most
// 256 bytes. Any other shape is an error.
func ParseReceipt(b []byte) (Receipt, error) {
	var v struct {
		Upto json.RawMessage `json:"upto"`
		TS   *string         `json:"ts"`
	}
	if err := strictJSON(b, &v); err != nil {
		return Receipt{}, fmt.Errorf("receipt: %w", err)
	}
	if v.Upto == nil || v.TS == nil {
		return Receipt{}, errors.New("receipt: upto and ts are required")
	}
	upto, err := strconv.ParseUint(string(v.Upto), 10, 64)
	if err != nil || strconv.FormatUint(upto, 10) != string(v.Upto) || upto > 1<<53-1 {
		return Receipt{}, fmt.Errorf("receipt: upto %.20s: want an integer from 0 to %d", v.Upto, uint64(1<<53-1))
	}
	ts, err := time.Parse(time.RFC3339Nano, *v.TS)
	if err != nil {
		return Receipt{}, fmt.Errorf("receipt: ts: %w", err)
	}
	return Receipt{Upto: upto, TS: ts}, nil
}

// strictJSON decodes one JSON object into v: no unknown field, no field
// twice, nothing after it, at most maxHubPayload bytes.
func strictJSON(b []byte, v any) error {
	if len(b) > maxHubPayload {
		return fmt.Errorf("%d bytes, more than %d", len(b), maxHubPayload)
	}
	if err := noDuplicateKeys(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the object")
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("data after the object")
	}
	return nil
}

// noDuplicateKeys refuses an object that names a key twice: encoding/json
// would keep the last, another parser the first.
func noDuplicateKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := k.(string)
		if seen[key] {
			return fmt.Errorf("key %q twice", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}

// Hub states as hubState holds them.
const (
	hubUnknown int32 = iota // nothing heard on this connection yet
	hubOnline
	hubOffline
)

// hubView is what the pod knows of the hub: written by paho's handlers
// (never blocking), read by the drainer.
type hubView struct {
	state atomic.Int32
	// announced is advanced by each online status that asks for the
	// backlog again: a transition to online, or a live (not retained)
	// online status, which a hub publishes when it (re)starts.
	announced atomic.Uint64
	// offered is the latest receipt's upto, math.MaxUint64 for none; the
	// drainer applies it to receipt (the highest accepted, math.MaxUint64
	// for none), which only it writes.
	offered, receipt atomic.Uint64
	wake             chan struct{}
	// bad counts payloads refused by the parsers (logged once each
	// episode by the handler).
	bad atomic.Uint64
	// ts orders the hub's statuses (see staleWill), for the Uplink's
	// whole life, across connections.
	ts statusOrder
}

// statusOrder tells the will of a hub connection that was replaced from
// the will of the current one, by the statuses' ts. A hub writes its will
// when it connects, so the will is older than the online status it
// publishes on that connection; and a restarted hub connects after its
// previous connection announced itself. So once an online status newer
// than the one before arrives (a hub that restarted), every offline status
// older than that earlier online status is a replaced connection's will:
// floor. Only paho's handler of the hub's status uses it.
type statusOrder struct {
	mu sync.Mutex
	// online is the ts of the newest online status applied; floor the ts
	// of the online status it replaced (zero for none); logged the ts of
	// the last stale will logged.
	online, floor, logged time.Time
}

// staleWill reports whether st, a status that parsed, is the will of a
// replaced hub connection, to be ignored, and otherwise takes st into the
// order. The first stale will of each ts is logged.
func (u *Uplink) staleWill(st HubStatus) bool {
	o := &u.hub.ts
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case !st.Online && st.TS.Before(o.floor):
		if !st.TS.Equal(o.logged) {
			o.logged = st.TS
			u.log.Info("hub offline status older than the hub's connection: the will of a connection it replaced, ignored",
				"ts", st.TS, "online_since", o.online)
		}
		return true
	case !st.Online:
	case o.online.IsZero():
		o.online = st.TS
	case st.TS.After(o.online):
		o.floor, o.online = o.online, st.TS
	case st.TS.Before(o.online):
		// Older than an online status applied: the hub's clock was
		// stepped back. What the order knew is no longer comparable.
		o.floor, o.online = time.Time{}, st.TS
	}
	return false
}

func (h *hubView) init() {
	h.wake = make(chan struct{}, 1)
	h.offered.Store(math.MaxUint64)
	h.receipt.Store(math.MaxUint64)
}

// RequiresHub reports whether the pod holds its records for the hub's
// receipts (Config.RequireHub); only then does it read the hub's status.
func (u *Uplink) RequiresHub() bool { return u.cfg.RequireHub }

// HubOnline reports what the pod knows of the hub's status on the current
// connection: known false until a status has arrived (always, without
// Config.RequireHub, which is when the pod reads it).
func (u *Uplink) HubOnline() (online, known bool) {
	switch u.hub.state.Load() {
	case hubOnline:
		return true, true
	case hubOffline:
		return false, true
	}
	return false, false
}

// HubReceipt is the highest seq the hub has receipted that the pod
// accepted; ok false before any.
func (u *Uplink) HubReceipt() (upto uint64, ok bool) {
	r := u.hub.receipt.Load()
	return r, r != math.MaxUint64
}

// handleHubStatus is paho's handler of the hub's status. It never blocks.
// An empty payload (the retained status cleared) makes the hub unknown; a
// payload that does not parse is logged and changes nothing, and so does
// the will of a hub connection that was replaced (staleWill).
func (u *Uplink) handleHubStatus(_ mqtt.Client, m mqtt.Message) {
	if len(m.Payload()) == 0 {
		u.hub.state.Store(hubUnknown)
		signal(u.hub.wake)
		return
	}
	st, err := ParseHubStatus(m.Payload())
	if err != nil {
		u.hub.bad.Add(1)
		u.log.Warn("hub status refused", "err", err)
		return
	}
	if u.staleWill(st) {
		return
	}
	if !st.Online {
		if u.hub.state.Swap(hubOffline) != hubOffline {
			u.log.Info("hub offline: the backlog is held")
		}
		signal(u.hub.wake)
		return
	}
	if u.hub.state.Swap(hubOnline) != hubOnline || !m.Retained() {
		u.hub.announced.Add(1)
	}
	signal(u.hub.wake)
}

// handleReceipt is paho's handler of the pod's receipt. It never blocks. A
// payload that does not parse is logged and changes nothing. The drainer
// judges what arrives against what it has applied and against the
// journal (see "The hub's receipts" in the package doc).
func (u *Uplink) handleReceipt(_ mqtt.Client, m mqtt.Message) {
	if len(m.Payload()) == 0 {
		return // a retained receipt cleared: what was receipted stays so
	}
	r, err := ParseReceipt(m.Payload())
	if err != nil {
		u.hub.bad.Add(1)
		u.log.Warn("receipt refused", "err", err)
		return
	}
	u.hub.offered.Store(r.Upto)
	signal(u.hub.wake)
}
