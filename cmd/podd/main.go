// Command podd is the Sleegation pod controller daemon.
//
//	podd --config /etc/podd/pod.yaml
//
// It loads the configuration (an invalid one stops it at once, one line per
// problem), opens the hardware (real buses or the simulator), puts every
// output into its safe state, and hands the pod's parts to the controller:
// the safety watchdog runs whatever else fails, and the store, the uplink,
// the local API, the metrics listener and the simulator are supervised,
// reported and retried. On SIGTERM or SIGINT the controller seals the
// outputs in their safe state and publishes "offline"; then the buses, the
// store and the hardware watchdog (with its magic close) are closed, every
// step bounded so the whole stop fits in systemd's TimeoutStopSec.
//
// # Linux mode's failures
//
// With hardware.mode: linux the buses are periph's host drivers on
// /dev/i2c-N, /dev/spidevB.C and /dev/gpiochipN. periph formats the
// system's error as text, so linux mode finds out what went wrong itself
// (buserrors.go): a bus it could not open is tried again as a device node
// (missing: how to enable the bus; refused: the group and the udev rule
// that grant access), and a chip whose transfers fail with ENXIO or
// EREMOTEIO, the adapters' address NAK, is named with its key, address and
// bus and what to check. Each message names the configuration key. GPIO
// lines are handed to the drivers as namedPin, so that an error names a
// line as GPIO25 rather than as periph's JSON description of it.
//
// # The hardware test
//
// The tests built with -tags hwtest (hwguest_*_test.go) run only inside
// make hwtest's virtual machine (hwtest/run.sh, hwtest/init): Debian's
// kernel with emulated buses at pod.yaml's names. They call openHardware,
// openStrip, openOutputs and the drivers' opens exactly as runPod does, and
// runPod itself for a start and a stop, and check what arrives at the
// devices from the devices' side: the I²C register files through SMBus
// transfers, which the drivers never use; the SPI controller's last
// message in debugfs; the input lines driven through gpio-sim's pull,
// which makes real edges on the character device, and the output lines'
// levels (the PCA9685's OE, the motor, the indicator) read from gpio-sim's
// value.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/internal/buildinfo"
	"github.com/sleegation/podd/internal/ratelog"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/uplink"
	"github.com/sleegation/podd/uplink/embedded"
)

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return
	case err != nil:
		os.Exit(2) // the flag package has said why
	case opts.version:
		if err := printVersion(os.Stdout, opts.json); err != nil {
			fmt.Fprintln(os.Stderr, "podd:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(opts.config); err != nil {
		fmt.Fprintln(os.Stderr, "podd:", err)
		os.Exit(1)
	}
}

func run(configPath string) error {
	cfg, err := loadConfig(configPath, os.Environ())
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log.Level)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return runPod(ctx, cfg, log, deps{openWatchdog: openHardwareWatchdog})
}

// deps are what runPod takes from the system, replaced in tests.
type deps struct {
	openWatchdog func(path string, timeout time.Duration) (hardwareWatchdog, error)
}

// hardwareWatchdog is the kernel's watchdog as podd uses it (safety.HardwareWatchdog).
type hardwareWatchdog interface {
	controller.Pinger
	Close() error
}

func openHardwareWatchdog(path string, timeout time.Duration) (hardwareWatchdog, error) {
	return safety.OpenHardwareWatchdog(path, timeout)
}

// openHardwareWatchdogOf opens the configured kernel watchdog, nil for
// none or one that cannot be opened (logged: the systemd watchdog still
// restarts a stalled daemon).
func openHardwareWatchdogOf(cfg *configs.Config, log *slog.Logger, d deps) hardwareWatchdog {
	if cfg.Watchdog.Device == "" {
		return nil
	}
	w, err := d.openWatchdog(cfg.Watchdog.Device, cfg.Watchdog.Timeout)
	if err != nil {
		log.Error("no hardware watchdog", "err", err)
		return nil
	}
	return w
}

// holdRunLockFed waits for the run lock as journal.HoldRunLock does, at
// most journal.ToolWait, pinging hwdog (when not nil) every third of
// its timeout meanwhile.
func holdRunLockFed(ctx context.Context, storePath string, hwdog hardwareWatchdog, timeout time.Duration) (*journal.RunLock, error) {
	if hwdog == nil {
		return journal.HoldRunLock(ctx, storePath, journal.ToolWait)
	}
	_ = hwdog.Ping()
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(max(timeout/3, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
				_ = hwdog.Ping()
			}
		}
	})
	run, err := journal.HoldRunLock(ctx, storePath, journal.ToolWait)
	stop()
	wg.Wait()
	return run, err
}

// runLockWait is how long podd first waits for its run lock: a tool's
// probe holds it for microseconds (journal.DaemonRunning); longer is a
// tool driving the hardware (journal.ClaimHardware), said in the log
// before podd waits on.
const runLockWait = 100 * time.Millisecond

// Bounds of the steps after the controller stopped; with the controller's
// own budget they keep the whole stop well under systemd's TimeoutStopSec.
const (
	busIdleTimeout    = 500 * time.Millisecond
	storeCloseTimeout = time.Second
)

// openStrip connects the LED strip (hardware.led_count LEDs) on the
// hardware's SPI port and turns it dark (apa102.New).
func openStrip(cfg *configs.Config, hw *hardware) (*apa102.Dev, error) {
	safe, _, err := safeLights(cfg.Lights)
	if err != nil {
		return nil, err
	}
	return apa102.New(hw.spi, &apa102.Opts{NumPixels: cfg.Hardware.LEDCount, Speed: apa102.DefaultOpts.Speed, Safe: controller.SafeColor(safe)})
}

// runPod runs the pod until ctx is done. Only a configuration the parts
// cannot use at all (no buses, no LED strip, a watchdog that cannot be
// built) stops it at start; every other part is supervised by the
// controller and a failure of one is reported and retried.
func runPod(ctx context.Context, cfg *configs.Config, log *slog.Logger, d deps) error {
	// The run lock tells podctl's doctor and scan that podd holds the
	// buses, also before the API listens. While one of them drives the
	// hardware itself (it found podd stopped), podd waits for it, at most
	// journal.ToolWait; a pod that cannot take the lock runs on without
	// it. It waits before it opens anything: a GPIO line the tool holds
	// would fail podd's start. The outputs keep meanwhile what they had
	// when the last podd stopped: safe after a clean stop, as they were
	// after a crash, for at most that wait.
	var hwdog hardwareWatchdog
	run, err := journal.HoldRunLock(ctx, cfg.Storage.Path, runLockWait)
	if errors.Is(err, journal.ErrToolHolds) {
		log.Warn("waiting for a technician's tool to let the hardware go", "err", err, "at_most", journal.ToolWait)
		// A kernel watchdog a crashed podd left armed would reboot the
		// pod under the tool: it is opened now and fed while podd waits
		// (podd is waiting, not hung).
		hwdog = openHardwareWatchdogOf(cfg, log, d)
		run, err = holdRunLockFed(ctx, cfg.Storage.Path, hwdog, cfg.Watchdog.Timeout)
	}
	if ctx.Err() != nil {
		// Stopped while it waited: nothing but the watchdog is open.
		run.Release()
		if hwdog != nil {
			_ = hwdog.Close()
		}
		log.Info("podd stopped before it started: it was waiting for a technician's tool")
		return nil
	}
	if err != nil {
		log.Warn("run lock not held: podctl doctor and scan cannot tell that podd runs while its API does not answer, and may drive its hardware", "err", err)
	}
	defer run.Release()
	// A watchdog opened for the wait is closed (disarmed) if podd fails to
	// start before closeAll takes it over: left armed and unpinged, it
	// would reboot the pod under the tool that held it up.
	dogOpen := hwdog != nil
	defer func() {
		if dogOpen {
			_ = hwdog.Close()
		}
	}()
	hw, err := openHardware(cfg, log)
	if err != nil {
		return err
	}

	strip, err := openStrip(cfg, hw)
	if err != nil {
		hw.close()
		return fmt.Errorf("led strip: %w", err)
	}
	gate, show, err := openOutputs(cfg, strip, hw.outputs, log)
	if err != nil {
		// The strip shows its safe light already, and every output
		// opened so far was left off by its New.
		hw.close()
		return err
	}
	// Outputs are safe before anything else can fail; the controller opens
	// them only on evidence of safety.
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	if err := gate.SafeStateContext(sctx); err != nil {
		log.Error("initial safe state", "err", err)
	}
	cancel()

	if hwdog == nil {
		hwdog = openHardwareWatchdogOf(cfg, log, d)
	}
	dogOpen = false // from here every return closes it through closeAll

	var pod *controller.Pod // set before Run, which alone runs the parts
	slot := journal.NewSlot()
	services := []controller.Part{{Name: "store", Run: func(ctx context.Context, up func()) error {
		return openStore(ctx, log, cfg.Storage.Path, storeOptions(cfg.Storage, cfg.History), slot, pod.Post, up)
	}}}
	broker := cfg.Uplink.Broker
	if cfg.Uplink.Embedded() {
		broker = "tcp://" + cfg.Uplink.EmbeddedListen
		services = append(services, controller.Part{Name: "broker", AfterUplink: true, Run: func(ctx context.Context, up func()) error {
			b, err := embedded.Start(cfg.Uplink.EmbeddedListen, log)
			if err != nil {
				return err
			}
			log.Info("embedded broker", "listen", b.Addr().String())
			up()
			<-ctx.Done()
			return b.Close()
		}})
	}
	services = append(services, hw.services...)

	brokers := cfg.Uplink.Brokers
	if cfg.Uplink.Embedded() {
		brokers = []string{broker}
	}
	clientTLS, err := cfg.Uplink.ClientTLS()
	var password string
	if err == nil {
		password, err = cfg.Uplink.Password()
	}
	if err != nil {
		// The loader read the same files a moment ago.
		closeAll(log, hw, gate, slot, hwdog)
		return fmt.Errorf("uplink: %w", err)
	}
	boot := newBootID()
	previous, err := recordBoot(filepath.Join(filepath.Dir(cfg.Storage.Path), "podd.boots"), boot)
	if err != nil {
		log.Warn("earlier boots not known: after a power cut the uplink waits for the broker to say the old run is offline", "err", err)
	}
	up, err := uplink.New(uplink.Config{
		PreviousBoot: func(b string) bool { return previous[b] },
		Brokers:      brokers,
		TLS:          clientTLS,
		Username:     cfg.Uplink.Username,
		Password:     password,
		ClientID:     cfg.Uplink.ClientID,
		Pod:          cfg.Pod.ID,
		Boot:         boot,
		Version:      buildinfo.Version(),
		Simulated:    hw.simulated,
		ClockSynced:  clockSynced,
		Logger:       log,

		RequireHub:     cfg.Uplink.RequireHub,
		ReceiptTimeout: cfg.Uplink.ReceiptTimeout,
	}, slot)
	if err != nil {
		closeAll(log, hw, gate, slot, hwdog)
		return err
	}

	services = append(services, controller.Part{Name: "api", Run: func(ctx context.Context, up func()) error {
		return api.NewServer(pod, cfg.API.Socket, log).Run(ctx, up)
	}})
	if cfg.API.MetricsListen != "" {
		services = append(services, controller.Part{Name: "metrics", Run: func(ctx context.Context, up func()) error {
			return api.NewMetricsServer(pod, pod, cfg.API.MetricsListen, api.PageOptions{
				StatusPage: cfg.API.StatusPage, ExposeVitals: cfg.API.ExposeVitals,
			}).Run(ctx, up)
		}})
	}
	var pinger controller.Pinger // a nil interface when there is no hardware watchdog
	if hwdog != nil {
		pinger = hwdog
	}
	var hubKeys *hubcmd.KeySet // nil: no keys, only merge/abort is accepted
	if cfg.Security.HubKeys != "" {
		if hubKeys, err = hubcmd.LoadKeySet(cfg.Security.HubKeys); err != nil {
			closeAll(log, hw, gate, slot, hwdog)
			return fmt.Errorf("security.hub_keys: %w", err)
		}
	}
	// The jtis of the commands accepted are kept in the store until their
	// exp: a command is refused as replayed after a restart too.
	replay, err := journal.NewReplayCache(slot, journal.ReplayLimits{Lifetime: hubcmd.MaxRemainingLife}, time.Now)
	if err != nil {
		closeAll(log, hw, gate, slot, hwdog)
		return err
	}
	pod, err = controller.New(controller.Config{
		Pod: cfg.Pod.ID, Boot: boot, Version: buildinfo.Version(), Broker: strings.Join(brokers, ","),
		Simulated:         hw.simulated,
		TelemetryInterval: cfg.Telemetry.Interval,
		Limits:            cfg.Safety,
		TempCoreOffsetC:   cfg.Sensors.TMP117.CoreOffsetC,
		AmbientLight:      AmbientLight,
		LEDCount:          cfg.Hardware.LEDCount,
		Session: controller.SessionConfig{
			BaselineDuration: cfg.Session.BaselineDuration,
			EndingDuration:   cfg.Session.EndingDuration,
			ConsentDuration:  cfg.Session.ConsentDuration,
		},
		HubKeys:     hubKeys,
		ClockSynced: clockSynced,
		Settings:    cfg.Settings(),
		Logger:      log,
	}, controller.Parts{
		OpenOximeter:     hw.openOximeter,
		Sensors:          hw.sensors,
		ConsentButton:    hw.consentButton,
		PanicButton:      hw.panicButton,
		AckButton:        hw.ackButton,
		Strip:            strip,
		Show:             show,
		Gate:             gate,
		Store:            slot,
		History:          slot,
		Replay:           replay,
		Uplink:           up,
		Services:         services,
		Notify:           controller.SystemdNotify,
		HardwareWatchdog: pinger,
		SimStatus:        hw.simStatus,
	})
	if err != nil {
		closeAll(log, hw, gate, slot, hwdog)
		return err
	}
	log.Info("podd starting", "pod", cfg.Pod.ID, "version", buildinfo.Version(), "boot", boot, "simulated", hw.simulated, "broker", broker, "api", cfg.API.Socket, "sensors", cfg.Sensors.Enabled())
	err = pod.Run(ctx)
	stopAt := time.Now()
	closeAll(log, hw, gate, slot, hwdog)
	log.Info("podd stopped", "closing_took", time.Since(stopAt).Round(time.Millisecond))
	return err
}

// openStore opens the journal into slot, calls up and keeps it open until
// ctx is done; the caller closes the slot. A damaged file is set aside and a
// fresh, latched store started in its place (journal.OpenOrRecover), logged
// at Error level with where the file went. Every failure is returned, for
// the supervisor to report and retry, and so is damage the store finds
// while open: the retry reopens the store the slot holds (setting the file
// aside if it is damaged indeed) and hands the new one to the slot.
func openStore(ctx context.Context, log *slog.Logger, path string, opts *journal.Options, slot *journal.Slot, report func(uplink.Event, time.Time), up func()) error {
	// A missing directory is not created: a mistyped storage.path would
	// start a blank store, without the latch of an earlier abort.
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return fmt.Errorf("storage: directory %s does not exist or is not a directory (fix storage.path, or create it: systemd's StateDirectory= makes /var/lib/podd)", filepath.Dir(path))
	}
	var (
		s   *journal.Store
		rec *journal.Recovery
		err error
	)
	old := slot.Store()
	if old != nil {
		s, rec, err = old.Reopen()
	} else {
		s, rec, err = journal.OpenOrRecover(path, opts)
	}
	if rec != nil {
		log.Error("store damaged: the file is set aside and a fresh store started", "store", rec)
		reportRecovery(rec, report)
	}
	if err != nil {
		return err
	}
	if old != nil {
		err = slot.Replace(old, s)
	} else {
		err = slot.Set(s)
	}
	if err != nil {
		_ = s.Close()
		return err
	}
	up()
	select {
	case <-ctx.Done():
		return nil
	case <-s.Damaged():
		return fmt.Errorf("storage: %w", s.Damage())
	}
}

// storeOptions are the journal's options from the storage and history
// sections: the outbox's and the audit log's bounds and the history's
// retention; the rest are the journal's defaults.
// The vitals history's bound follows history.retention: a point every
// controller.DefaultHistoryWindow for the whole retention, and a day
// more, so the count never prunes a point the retention keeps (about
// 40 MB of the store for the default 14 days, 250 MB for the longest, 90).
func storeOptions(c configs.StorageConfig, h configs.HistoryConfig) *journal.Options {
	o := &journal.Options{Timeout: time.Second, MaxOutbox: c.MaxOutboxRecords, MaxOutboxBytes: c.MaxOutboxBytes, MaxAuditEntries: c.MaxAuditEntries, HistoryRetention: h.Retention}
	if r := cmp.Or(h.Retention, journal.DefaultHistoryRetention); r > 0 {
		o.MaxHistoryVitals = int((r+24*time.Hour)/controller.DefaultHistoryWindow) + 1
	}
	return o
}

// reportRecovery tells the hub, once the fresh store takes events, that the
// store was damaged and where the file went, and which seqs of the damaged
// store may never arrive.
func reportRecovery(rec *journal.Recovery, report func(uplink.Event, time.Time)) {
	fields := map[string]any{
		"part": "store", "fault": "store_damaged", "active": true,
		"error": rec.Damage.Error(), "moved_to": rec.MovedTo, "latched": rec.Latched,
	}
	// Audited: an entry of the fresh store's chain, whose entry 1 (the
	// journal's) says it restarted.
	report(uplink.Event{Type: "fault", Fields: fields, Audit: true}, rec.At)
	if !rec.Lost.Empty() {
		report(uplink.Event{Type: "dropped", Fields: map[string]any{
			"from": rec.Lost.From, "to": rec.Lost.To, "count": rec.Lost.Len(), "reason": "store_damaged",
		}}, rec.At)
	}
}

// closeAll releases what runPod opened, each step bounded: buses only once
// no output is still halting on them, the store within storeCloseTimeout
// (a hung fsync must not hold the stop), and the hardware watchdog last,
// with its magic close, so a clean stop never reboots the board.
func closeAll(log *slog.Logger, hw *hardware, gate *actuators.Gate, slot *journal.Slot, hwdog hardwareWatchdog) {
	// The controller pinged the hardware watchdog until it returned; each
	// step here is shorter than its shortest timeout, with a ping before it.
	ping := func() {
		if hwdog != nil {
			if err := hwdog.Ping(); err != nil {
				log.Error("hardware watchdog ping failed", "err", err)
			}
		}
	}
	ping()
	ictx, cancel := context.WithTimeout(context.Background(), busIdleTimeout)
	if err := gate.Idle(ictx); err != nil {
		log.Error("buses left open: an output is still halting on them", "err", err)
	} else {
		hw.close()
	}
	cancel()

	ping()
	closed := make(chan error, 1)
	go func() { closed <- slot.Close() }()
	t := time.NewTimer(storeCloseTimeout)
	select {
	case err := <-closed:
		if err != nil && !errors.Is(err, journal.ErrNotOpen) {
			log.Error("close store", "err", err)
		}
	case <-t.C:
		log.Error("store not closed: a write is still in progress", "waited", storeCloseTimeout)
	}
	t.Stop()

	if hwdog != nil {
		if err := hwdog.Close(); err != nil {
			log.Error("hardware watchdog", "err", err)
		}
	}
}

// newLogger writes text lines to stderr (the journal under systemd), rate
// limited per message so a repeating fault cannot fill an SD card.
func newLogger(level slog.Level) *slog.Logger {
	return slog.New(ratelog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}), ratelog.Options{}))
}

// newBootID is a random id per start, so the hub can tell restarts apart.
func newBootID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return fmt.Sprintf("t%x", time.Now().UnixNano())
	}
	return hex.EncodeToString(b)
}
