package doctor

import (
	"context"
	"errors"
	"testing"

	"github.com/sleegation/podd/journal"
)

// podd is running and holds its store (journal.Open's exclusive lock),
// but its API socket is not there: the api part failed and is retried
// (/run/podd missing, the socket's directory not writable; podctl
// status's partNext "api"). The same window opens at every start: podd
// opens its buses and outputs (runPod) before the api part listens.
//
// Wrong: Doctor.socket (internal/doctor/doctor.go) takes "no socket" or
// "connection refused" for "podd is not running" (podDown), so Scan opens
// the buses podd holds and probes every known address, the ADS1299 with
// an SDATAC that stops podd's EEG stream, during a session. doctor's own
// store check knows better (journal.ErrInUse: "open in another process,
// yet podd's API does not answer") but runs last, after Run has opened
// the hardware and probed the chips too.
//
// Correct: before opening any hardware, scan and doctor check that podd
// is really down, not only that its socket is silent: its store lock
// (journal.Check == journal.ErrInUse) and, for the start's window, a lock
// podd takes before it opens its buses (e.g. a flock on a file in /run/podd)
// or systemctl is-active; while podd may run its state is unknown and
// nothing is opened (podUnknown: scan refuses, doctor skips the chips and
// lines).
func TestReviewScanOpensTheBusesOfARunningPoddWithoutItsSocket(t *testing.T) {
	cfg := simConfig(t, t.TempDir())
	s, err := journal.Open(cfg.Storage.Path, nil) // podd's store, held by podd
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := journal.Check(cfg.Storage.Path); !errors.Is(err, journal.ErrInUse) {
		t.Fatalf("journal.Check = %v; want ErrInUse: the store's lock tells that podd runs", err)
	}
	opened := false
	d, c := newDoctor(cfg, healthySystem(""), func() (Hardware, error) {
		opened = true
		return nil, errors.New("opened")
	})
	defer c.Close()
	_, err = d.Scan(context.Background(), "")
	if opened {
		t.Errorf("Scan opened the hardware while podd holds its store (Scan: %v)", err)
	}
	if err == nil {
		t.Error("Scan did not refuse while podd holds its store")
	}
}

// The same for doctor: it opens the hardware, then reports the store in
// use by another process.
func TestReviewDoctorOpensTheBusesOfARunningPoddWithoutItsSocket(t *testing.T) {
	cfg := simConfig(t, t.TempDir())
	s, err := journal.Open(cfg.Storage.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	opened := false
	d, c := newDoctor(cfg, healthySystem(""), func() (Hardware, error) {
		opened = true
		return nil, errors.New("opened")
	})
	defer c.Close()
	rs := d.Run(context.Background())
	if opened {
		t.Errorf("doctor opened the hardware while podd holds its store; its store line says: %q", find(t, rs, "store").Detail)
	}
}
