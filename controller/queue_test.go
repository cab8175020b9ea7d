package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/sleegation/podd/uplink"
)

// An event let go while the loss report is being stored (the queue is full,
// so every post lets one go) is reported in the next loss report, never
// lost without a "dropped" event saying so.
func TestALossDuringTheStoreOfTheLossReportIsReported(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	q := newEventQueue(2)
	pushed := 0
	push := func(typ string) {
		q.push(uplink.Event{Type: typ}, t0.Add(time.Duration(pushed)*time.Second))
		pushed++
	}
	push("fault")
	push("state")
	push("fault") // the first fault is let go

	report, ok := q.head() // the recorder writes this to the store...
	if !ok || report.e.Type != "dropped" {
		t.Fatalf("head = %+v, want the loss report", report)
	}
	push("fault") // ...while the sensor loop posts: the state event is let go
	q.pop()       // the report is stored

	reported := report.e.Fields["count"].(int)
	stored := 0
	for {
		e, ok := q.head()
		if !ok {
			break
		}
		q.pop()
		if e.e.Type == "dropped" {
			reported += e.e.Fields["count"].(int)
			continue
		}
		stored++
	}
	if stored+reported != pushed {
		t.Fatalf("%d events posted, %d stored, %d reported lost: %d lost without a report", pushed, stored, reported, pushed-stored-reported)
	}
}

// Replies wait in the same queue as the events, in order, and a full queue
// lets one go as it lets an event go, counted under "reply".
func TestRepliesQueueWithTheEvents(t *testing.T) {
	q := newEventQueue(2)
	at := time.Unix(1, 0)
	q.pushReply(uplink.Reply{JTI: "c-1", OK: true}, at)
	q.push(uplink.Event{Type: "abort"}, at)
	q.push(uplink.Event{Type: "state"}, at)
	it, ok := q.head()
	if !ok || it.e.Type != "dropped" || it.e.Fields["types"].(map[string]any)["reply"] != 1 {
		t.Fatalf("head %+v, want a loss report of one reply", it)
	}
	q.pop()
	if it, _ := q.head(); it.e.Type != "abort" || it.reply != nil {
		t.Fatalf("head %+v, want the abort", it)
	}
	q.pop()
	q.pushReply(uplink.Reply{JTI: "c-2"}, at)
	q.pop()
	if it, _ := q.head(); it.reply == nil || it.reply.JTI != "c-2" {
		t.Fatalf("head %+v, want the reply to c-2", it)
	}
}

// A loss report is audited when an audited event was let go, so the audit
// log says what it lacks; a report of unaudited losses is not.
func TestALossReportIsAuditedWhenAnAuditedEventWasLost(t *testing.T) {
	at := time.Unix(1, 0)
	q := newEventQueue(2)
	q.push(uplink.Event{Type: "fault"}, at)
	q.push(uplink.Event{Type: "command", Audit: true}, at)
	q.push(uplink.Event{Type: "panic", Audit: true}, at) // the fault goes
	it, _ := q.head()
	if it.e.Type != "dropped" || it.e.Audit || it.e.Fields["types"].(map[string]any)["fault"] != 1 {
		t.Fatalf("head %+v, want an unaudited report of the fault", it)
	}
	q.pop()
	q.push(uplink.Event{Type: "consent", Audit: true}, at) // the command goes
	it, _ = q.head()
	if it.e.Type != "dropped" || !it.e.Audit || it.e.Fields["types"].(map[string]any)["command"] != 1 {
		t.Fatalf("head %+v, want an audited report of the command", it)
	}
	q.pop()
	var left []string
	for {
		it, ok := q.head()
		if !ok {
			break
		}
		left = append(left, it.e.Type)
		q.pop()
	}
	if strings.Join(left, " ") != "panic consent" {
		t.Fatalf("kept %v, want panic consent", left)
	}
}

// The start's config event is kept, as an abort is, when the queue
// overflows before the store opens.
func TestAFullQueueKeepsTheConfig(t *testing.T) {
	at := time.Unix(1, 0)
	q := newEventQueue(2)
	q.push(uplink.Event{Type: "config", Audit: true}, at)
	for range 5 {
		q.push(uplink.Event{Type: "consent", Audit: true}, at)
	}
	var left []string
	for {
		it, ok := q.head()
		if !ok {
			break
		}
		left = append(left, it.e.Type)
		q.pop()
	}
	if strings.Join(left, " ") != "dropped config consent" {
		t.Fatalf("queue held %v, want the loss report, the config and the last consent", left)
	}
}
