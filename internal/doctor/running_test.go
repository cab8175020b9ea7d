package doctor

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/internal/mqtttest"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
)

// statusPod is podd's API answering a fixed status.
type statusPod struct{ st api.Status }

func (p statusPod) Status() api.Status { return p.st }
func (statusPod) Ack(context.Context, controller.AckSource) (safety.Abort, error) {
	return safety.Abort{}, errors.New("not in this test")
}
func (statusPod) GrantConsent(string, time.Duration) (controller.Consent, error) {
	return controller.Consent{}, errors.New("not in this test")
}
func (statusPod) WithdrawConsent(string) controller.Consent { return controller.Consent{} }
func (statusPod) Audit() (api.AuditReport, error) {
	return api.AuditReport{}, errors.New("not in this test")
}

// serveStatus runs podd's API for st on socket until the test ends.
func serveStatus(t *testing.T, socket string, st api.Status) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- api.NewServer(statusPod{st}, socket, nil).Run(ctx, func() { close(up) }) }()
	select {
	case <-up:
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// While podd runs (make run), nothing is opened: the chips are judged by
// podd's health of its sensors, the store by its latch, the lines are
// podd's, and the embedded broker is asked where podd listens (here
// nothing does, so it fails).
func TestDoctorAsksARunningPoddAndOpensNothing(t *testing.T) {
	dir := t.TempDir()
	port := mqtttest.FreePort(t) // nothing listens: podd's embedded broker is not up
	cfg := simConfig(t, dir, fmt.Sprintf("PODD_UPLINK_EMBEDDED_LISTEN=127.0.0.1:%d", port))
	since := time.Date(2026, 11, 30, 2, 13, 5, 0, time.UTC)
	serveStatus(t, cfg.API.Socket, api.Status{
		Pod: "sim-pod-1", State: "aborted", Simulated: true,
		Sensors: []api.SensorStatus{
			{Name: "max30102", State: "ok", Since: since},
			{Name: "ads1299", State: "lead_off", Since: since},
			{Name: "ads1115", State: "bus_error", Since: since, Error: "ads1115 at 0x49: sim: i2c: 0x49: device did not acknowledge"},
			{Name: "tmp117", State: "ok", Since: since},
		},
		Safety: api.SafetyStatus{Latched: &safety.Abort{Rule: journal.RuleStoreDamaged, Detail: "the store was damaged and set aside as var/podd.db.damaged-20261130T021305Z"}},
		Parts:  []api.PartStatus{{Name: "store", State: "up"}},
	})
	d, c := newDoctor(cfg, healthySystem(t.TempDir()), func() (Hardware, error) {
		t.Error("the hardware was opened while podd runs")
		return nil, errors.New("opened")
	})
	defer c.Close()
	got := lines(d.Run(context.Background()))
	want := []line{
		{"api socket", Pass, "podd answers on " + dir + "/podd.sock: pod sim-pod-1, aborted, simulated"},
		{"chip max30102", Pass, "podd reads it at 0x57 on bus 1: ok (its ID was checked when podd opened it)"},
		{"chip ads1299", Warn, "podd reports it lead_off since 2026-11-30T02:13:05Z"},
		{"chip ads1115", Fail, "podd reports it bus_error since 2026-11-30T02:13:05Z: ads1115 at 0x49: sim: i2c: 0x49: device did not acknowledge"},
		{"chip tmp117", Pass, "podd reads it at 0x48 on bus 1: ok (its ID was checked when podd opened it)"},
		{"chip pca9685", Pass, "podd drives it at 0x40 on bus 1 (its identity was checked when podd opened it)"},
		{"chip drv2605", Pass, "podd drives it at 0x5A on bus 1 (its identity was checked when podd opened it)"},
		{"line GPIO12 (hardware.indicator_led)", Pass, "simulated, held by podd"},
		{"line GPIO25 (sensors.ads1299.drdy)", Pass, "simulated, held by podd"},
		{"line GPIO6 (lights.pca9685.oe)", Pass, "simulated, held by podd"},
		{"line GPIO13 (haptics.drv2605.en)", Pass, "simulated, held by podd"},
		{"line GPIO5 (haptics.places.feet.line)", Pass, "simulated, held by podd"},
		{fmt.Sprintf("broker embedded (127.0.0.1:%d)", port), Fail, fmt.Sprintf("cannot connect to 127.0.0.1:%d: dial tcp 127.0.0.1:%d: connect: connection refused", port, port)},
		{"clock", Pass, "synchronised: 2026-11-30T12:00:00Z"},
		{"disk", Pass, "8192 MiB free of 16384 MiB on the store's filesystem (" + dir + ")"},
		{"store", Fail, "podd found the store damaged: the store was damaged and set aside as var/podd.db.damaged-20261130T021305Z"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("results:\n%s\nwant:\n%s", show(got), show(want))
	}
}
