// Command podd is the Sleegation pod controller daemon.
//
//	podd --config /etc/podd/pod.yaml
//
// It loads the configuration, opens the store, the hardware (real buses or the
// simulator), the uplink and the local API, and hands them to the controller,
// which runs until SIGTERM or SIGINT. On the way out the controller puts every
// actuator into its safe state and publishes "offline"; then the store closes.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/uplink"
	"github.com/sleegation/podd/uplink/embedded"
)

// version is set at build time by the Makefile.
var version = "dev"

func main() {
	configPath := flag.String("config", "/etc/podd/pod.yaml", "configuration file (YAML)")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	if err := run(*configPath); err != nil {
		fmt.Fprintln(os.Stderr, "podd:", err)
		os.Exit(1)
	}
}

func run(configPath string) error {
	cfg, err := configs.Load(configPath, os.Environ())
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log.Level)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	hw, err := openHardware(cfg, log)
	if err != nil {
		return err
	}
	defer hw.close()

	strip, err := apa102.New(hw.spi, &apa102.Opts{NumPixels: cfg.Hardware.LEDCount, Speed: apa102.DefaultOpts.Speed})
	if err != nil {
		return fmt.Errorf("led strip: %w", err)
	}
	gate := actuators.NewGate(strip)
	// Outputs are safe before anything else can fail: the gate stays closed
	// until the controller knows whether the pod is latched.
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if err := gate.SafeStateContext(sctx); err != nil {
		log.Error("initial safe state", "err", err)
	}
	cancel()

	if err := os.MkdirAll(filepath.Dir(cfg.Storage.Path), 0o750); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	store, err := journal.Open(cfg.Storage.Path, &journal.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()

	broker := cfg.Uplink.Broker
	if cfg.Uplink.Embedded() {
		b, err := embedded.Start(cfg.Uplink.EmbeddedListen, log)
		if err != nil {
			return err
		}
		defer b.Close()
		broker = "tcp://" + b.Addr().String()
		log.Info("embedded broker", "listen", b.Addr().String())
	}

	boot := newBootID()
	up, err := uplink.New(uplink.Config{
		Broker:      broker,
		ClientID:    cfg.Uplink.ClientID,
		Pod:         cfg.Pod.ID,
		Boot:        boot,
		Version:     version,
		Simulated:   hw.simulated,
		ClockSynced: clockSynced,
		Logger:      log,
	}, store)
	if err != nil {
		return err
	}

	var hardwareWatchdog controller.Pinger // nil when there is none
	if cfg.Watchdog.Device != "" {
		hwdog, err := safety.OpenHardwareWatchdog(cfg.Watchdog.Device, cfg.Watchdog.Timeout)
		if err != nil {
			// The systemd watchdog still restarts a stalled daemon.
			log.Error("no hardware watchdog", "err", err)
		} else {
			// A clean exit disarms it; a crash or a hang lets it reboot the board.
			defer func() {
				if err := hwdog.Close(); err != nil {
					log.Error("hardware watchdog", "err", err)
				}
			}()
			hardwareWatchdog = hwdog
		}
	}
	var pod *controller.Pod
	services := append(hw.services, func(ctx context.Context) error { return api.NewServer(pod, cfg.API.Socket, log).Run(ctx) })
	if cfg.API.MetricsListen != "" {
		services = append(services, func(ctx context.Context) error {
			return api.NewMetricsServer(pod, pod, cfg.API.MetricsListen).Run(ctx)
		})
	}
	pod, err = controller.New(controller.Config{
		Pod: cfg.Pod.ID, Boot: boot, Version: version, Broker: broker,
		Simulated:         hw.simulated,
		TelemetryInterval: cfg.Telemetry.Interval,
		Limits:            cfg.Safety,
		AmbientLight:      apa102.Color{R: 40, G: 18, B: 4},
		LEDCount:          cfg.Hardware.LEDCount,
		Logger:            log,
	}, controller.Parts{
		OpenOximeter:     hw.openOximeter,
		Strip:            strip,
		Gate:             gate,
		Store:            store,
		Uplink:           up,
		Services:         services,
		Notify:           controller.SystemdNotify,
		HardwareWatchdog: hardwareWatchdog,
		SimStatus:        hw.simStatus,
	})
	if err != nil {
		return err
	}
	log.Info("podd starting", "pod", cfg.Pod.ID, "version", version, "boot", boot, "simulated", hw.simulated, "broker", broker, "api", cfg.API.Socket)
	err = pod.Run(ctx)
	log.Info("podd stopped")
	return err
}

func newLogger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// newBootID is a random id per start, so the hub can tell restarts apart.
func newBootID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return fmt.Sprintf("t%x", time.Now().UnixNano())
	}
	return hex.EncodeToString(b)
}
