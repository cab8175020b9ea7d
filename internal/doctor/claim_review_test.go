package doctor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/journal"
)

// doctor's claim of a stopped podd's hardware lasts only as long as it
// drives the hardware: the chips and the GPIO lines. The brokers' checks
// (a dead broker: brokerTimeout, 5 s, for each), the clock's, the disk's
// and the store's (journal.Check reads every page of the store) touch no
// bus, yet Run holds the claim across them (defer h.Close()), so a podd
// that systemd restarts meanwhile (after a crash: no safety core, the
// outputs as the crash left them) waits for them, up to journal.ToolWait,
// and then starts without its run lock. Here the disk's check asks
// whether podd could take its run lock at that moment.
func TestDoctorLetsTheHardwareGoBeforeItsChecksThatDoNotDriveIt(t *testing.T) {
	cfg := simConfig(t, t.TempDir())
	l, err := journal.HoldRunLock(context.Background(), cfg.Storage.Path, 0) // podd ran once: its run lock file exists
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	sys := healthySystem("")
	statfs := sys.Statfs
	var once sync.Once
	var during error
	asked := false
	sys.Statfs = func(p string) (Space, error) {
		once.Do(func() {
			asked = true
			l, err := journal.HoldRunLock(context.Background(), cfg.Storage.Path, 0)
			during = err
			l.Release()
		})
		return statfs(p)
	}
	opened := false
	d, cl := newDoctor(cfg, sys, func() (Hardware, error) { opened = true; return NewSim(cfg) })
	defer cl.Close()
	d.Run(context.Background())
	if !opened || !asked {
		t.Fatalf("hardware opened %v, disk checked %v: want both", opened, asked)
	}
	if errors.Is(during, journal.ErrToolHolds) {
		t.Fatalf("a podd starting during doctor's disk check: HoldRunLock = %v; the hardware was no longer driven, the claim should have been let go", during)
	}
	if during != nil {
		t.Fatal(during)
	}
}

// The sensors' self-test holds the claim for as long as it reads the
// sensors: podctl's --for, which nothing bounds. journal.ToolWait (30 s)
// is "longer than podctl's longest direct check (10 s)" only at the
// default: with --for 40s a podd that systemd restarts at the test's
// start gives up waiting after 30 s and, without its run lock, configures
// and reads the same chips while the test still does (the conflict the
// claim exists to prevent). A reading longer than podd waits must be
// refused (or cut to fit) before the hardware is claimed.
func TestSensorsSelfTestDoesNotOutlastPoddsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := simConfig(t, t.TempDir())
		l, err := journal.HoldRunLock(context.Background(), cfg.Storage.Path, 0)
		if err != nil {
			t.Fatal(err)
		}
		l.Release()
		var opened time.Time
		d, cl := newDoctor(cfg, healthySystem(""), func() (Hardware, error) {
			opened = time.Now()
			return NewSim(cfg)
		})
		defer cl.Close()
		done := make(chan struct{})
		var terr error
		go func() {
			defer close(done)
			_, terr = d.TestSensors(context.Background(), journal.ToolWait+10*time.Second)
		}()
		time.Sleep(journal.ToolWait + time.Second)
		synctest.Wait()
		select {
		case <-done:
			return // refused or cut short: podd's wait covers it
		default:
		}
		l, err = journal.HoldRunLock(context.Background(), cfg.Storage.Path, 0)
		l.Release()
		held := errors.Is(err, journal.ErrToolHolds)
		<-done
		if held {
			t.Fatalf("the sensors' self-test (claimed at %v) still holds the hardware %v after it began (TestSensors: %v): a podd that started with it gave up waiting after %v and drives the same chips",
				opened.Format(time.TimeOnly), journal.ToolWait+time.Second, terr, journal.ToolWait)
		}
	})
}
