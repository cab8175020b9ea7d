package uplink

import (
	"log/slog"
	"testing"
	"testing/synctest"
)

// staleWillMsg is the log line of an ignored will.
const staleWillMsg = "hub offline status older than the hub's connection: the will of a connection it replaced, ignored"

func statusAt(online bool, ts string) []byte {
	if online {
		return []byte(`{"online":true,"ts":"` + ts + `"}`)
	}
	return []byte(`{"online":false,"ts":"` + ts + `"}`)
}

// The hub's statuses as a hub connection publishes them: its will is
// written at CONNECT, before its online status (hubclient). The will of
// the current connection takes the hub offline although it is older than
// the online status applied; the will of a connection that a restarted
// hub replaced, older than that connection's online status, is ignored,
// logged once per ts, also when a cleared status and the retained ones
// come again; a status without a parsable ts changes nothing.
func TestTheWillOfAReplacedHubConnectionIsIgnoredAndTheCurrentOnesIsNot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &logRecorder{}
		u := newTestUplink(t, openStore(t, nil), func(c *Config) { requireHub(c); c.Logger = slog.New(rec) })
		l := &fakeLink{}
		serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		state := func(want bool, what string) {
			t.Helper()
			synctest.Wait()
			if on, known := u.HubOnline(); on != want || !known {
				t.Fatalf("%s: HubOnline = %v, %v; want %v, true", what, on, known, want)
			}
		}
		// Connection 1: will at 23:00:00, online at 23:00:01.
		l.deliver(HubStatusTopic, statusAt(true, "2026-11-29T23:00:01Z"), true)
		state(true, "connection 1 online")
		l.deliver(HubStatusTopic, statusAt(false, "2026-11-29T23:00:00Z"), false)
		state(false, "connection 1's own will, older than its online status")
		// Connection 2 (will 23:05:00, online 23:05:01), then its will.
		l.deliver(HubStatusTopic, statusAt(true, "2026-11-29T23:05:01Z"), false)
		state(true, "connection 2 online")
		l.deliver(HubStatusTopic, statusAt(false, "2026-11-29T23:05:00Z"), false)
		state(false, "connection 2's own will")
		// Connection 3 (will 23:10:00, online 23:10:01) crashes; the
		// restarted hub's connection 4 (will 23:15:00, online 23:15:01)
		// is online before the broker gives up on connection 3.
		l.deliver(HubStatusTopic, statusAt(true, "2026-11-29T23:10:01Z"), false)
		state(true, "connection 3 online")
		l.deliver(HubStatusTopic, statusAt(true, "2026-11-29T23:15:01Z"), false)
		state(true, "connection 4 online, connection 3 not yet given up")
		l.deliver(HubStatusTopic, statusAt(false, "2026-11-29T23:10:00Z"), false)
		state(true, "connection 3's will after connection 4's online status")
		if n := rec.count(staleWillMsg); n != 1 {
			t.Fatalf("the stale will logged %d times, want 1", n)
		}
		// A cleared status makes the hub unknown; the order stays.
		l.deliver(HubStatusTopic, nil, true)
		synctest.Wait()
		if _, known := u.HubOnline(); known {
			t.Fatal("the hub still known after its status was cleared")
		}
		l.deliver(HubStatusTopic, statusAt(true, "2026-11-29T23:15:01Z"), true)
		state(true, "connection 4's retained online status again")
		l.deliver(HubStatusTopic, statusAt(false, "2026-11-29T23:10:00Z"), true)
		state(true, "connection 3's will again")
		if n := rec.count(staleWillMsg); n != 1 {
			t.Fatalf("the same stale will logged %d times, want once", n)
		}
		// No parsable ts: refused by ParseHubStatus, nothing changes.
		l.deliver(HubStatusTopic, []byte(`{"online":false,"ts":"yesterday"}`), false)
		l.deliver(HubStatusTopic, []byte(`{"online":false}`), false)
		state(true, "statuses without a parsable ts")
		// Connection 4's own will is applied.
		l.deliver(HubStatusTopic, statusAt(false, "2026-11-29T23:15:00Z"), false)
		state(false, "connection 4's own will")
	})
}

// A hub whose clock was ahead and is stepped back: its next connection's
// online status is older than the one applied. It is applied, and the
// order starts again from it, so that connection's own will, older than
// every status before, still takes the hub offline.
func TestAHubWhoseClockSteppedBackIsStillSeenGoingOffline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := newTestUplink(t, openStore(t, nil), requireHub)
		l := &fakeLink{}
		serveInBackground(t, u, fakeConn(t, u, l))
		synctest.Wait()
		l.deliver(HubStatusTopic, statusAt(true, "2030-01-01T00:00:01Z"), true)
		l.deliver(HubStatusTopic, statusAt(true, "2030-01-01T00:05:01Z"), false)
		l.deliver(HubStatusTopic, statusAt(true, "2026-11-29T23:00:01Z"), false)
		synctest.Wait()
		if on, known := u.HubOnline(); !on || !known {
			t.Fatalf("HubOnline = %v, %v after an online status with the clock stepped back; want true, true", on, known)
		}
		l.deliver(HubStatusTopic, statusAt(false, "2026-11-29T23:00:00Z"), false)
		synctest.Wait()
		if on, known := u.HubOnline(); on || !known {
			t.Fatalf("HubOnline = %v, %v after that connection's will; want false, true", on, known)
		}
	})
}
