package controller

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// startTimed is the rig's uplink, noting when its Run began.
type startTimed struct {
	*fakeUplink
	mu      sync.Mutex
	started time.Time
}

func (u *startTimed) Run(ctx context.Context) error {
	u.mu.Lock()
	u.started = time.Now()
	u.mu.Unlock()
	return u.fakeUplink.Run(ctx)
}

func (u *startTimed) startedAt() time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.started
}

// The uplink's first connection waits for the parts stopped after it (the
// embedded broker) to come up: it starts when the broker says it is up,
// at once when the broker failed, and after lateUpWait when the broker
// neither comes up nor fails; the safety core runs meanwhile.
func TestTheUplinkStartsOnceTheEmbeddedBrokerIsUp(t *testing.T) {
	for _, tt := range []struct {
		name string
		run  func(ctx context.Context, up func()) error
		want time.Duration // when the uplink's Run begins, from the start
	}{
		{"up after 700 ms", func(ctx context.Context, up func()) error {
			time.Sleep(700 * time.Millisecond)
			up()
			<-ctx.Done()
			return nil
		}, 700 * time.Millisecond},
		{"failed at once", func(ctx context.Context, up func()) error {
			return errors.New("listen tcp 127.0.0.1:1883: address already in use")
		}, 0},
		{"never up", func(ctx context.Context, up func()) error {
			<-ctx.Done()
			return nil
		}, lateUpWait},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				up := &startTimed{fakeUplink: &fakeUplink{}}
				r := newRigWith(t, calm, &memStore{}, rigOpts{up: up.fakeUplink, uplink: up,
					services: []Part{{Name: "broker", AfterUplink: true, Run: tt.run}}})
				defer r.stop()
				time.Sleep(lateUpWait + time.Second)
				synctest.Wait()
				got := up.startedAt()
				// The wait checks every 10 ms.
				if d := got.Sub(start); got.IsZero() || d < tt.want || d > tt.want+10*time.Millisecond {
					t.Errorf("the uplink started %v after the pod, want %v", d, tt.want)
				}
				if r.pod.wd.SinceEvaluation() > time.Second {
					t.Errorf("the watchdog last evaluated %v ago: the safety core waited for the uplink", r.pod.wd.SinceEvaluation())
				}
			})
		})
	}
}
