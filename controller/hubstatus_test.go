package controller

import (
	"testing"
	"testing/synctest"
	"time"
)

// hubUplink is the fake uplink with the hub's presence and receipt that
// uplink.Uplink reports.
type hubUplink struct {
	*fakeUplink
	requires, online, known, refused bool
	receipt                          uint64
	receipted                        bool
}

func (h hubUplink) CommandsRefused() bool              { return h.refused }
func (h hubUplink) RequiresHub() bool                  { return h.requires }
func (h hubUplink) HubOnline() (online, known bool)    { return h.online, h.known }
func (h hubUplink) HubReceipt() (upto uint64, ok bool) { return h.receipt, h.receipted }

// Status reports what the uplink knows of the hub: its presence and
// receipt only with require_hub, and a refused subscription to commands
// always.
func TestStatusReportsTheHub(t *testing.T) {
	for _, tt := range []struct {
		name        string
		up          hubUplink
		wantHub     string
		wantReceipt uint64 // 0: none
		wantRefused bool
	}{
		{"without require_hub", hubUplink{online: true, known: true, receipt: 9, receipted: true}, "", 0, false},
		{"hub unknown", hubUplink{requires: true}, HubUnknown, 0, false},
		{"hub offline", hubUplink{requires: true, known: true}, HubOffline, 0, false},
		{"hub online, receipted", hubUplink{requires: true, online: true, known: true, receipt: 42, receipted: true}, HubOnline, 42, false},
		{"commands refused", hubUplink{refused: true}, "", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := &fakeUplink{}
				tt.up.fakeUplink = fake
				r := newRigWith(t, calm, &memStore{}, rigOpts{up: fake, uplink: tt.up})
				defer r.stop()
				time.Sleep(time.Second)
				u := r.pod.Status().Uplink
				got := uint64(0)
				if u.Receipt != nil {
					got = *u.Receipt
				}
				if u.Hub != tt.wantHub || got != tt.wantReceipt || (u.Receipt != nil) != (tt.wantReceipt != 0) || u.CommandsRefused != tt.wantRefused {
					t.Fatalf("Status().Uplink = %+v (receipt %d); want hub %q, receipt %d, commands refused %v", u, got, tt.wantHub, tt.wantReceipt, tt.wantRefused)
				}
			})
		})
	}
}

// Status says whether the wall clock is synchronised, as the pod's
// ClockSynced reports it.
func TestStatusReportsTheClock(t *testing.T) {
	for _, unsynced := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			r := newRigWith(t, calm, &memStore{}, rigOpts{unsynced: unsynced})
			defer r.stop()
			time.Sleep(time.Second)
			if got := r.pod.Status().ClockSynced; got != !unsynced {
				t.Fatalf("Status().ClockSynced = %v with the clock unsynchronised %v", got, unsynced)
			}
		})
	}
}
