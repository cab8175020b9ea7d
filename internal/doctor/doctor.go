package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"time"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/journal"
)

// Pod is podd's local API as the checks ask it (api.Client).
type Pod interface {
	Status(ctx context.Context) (api.Status, error)
	SelfTest(ctx context.Context, what string) (api.SelfTestReply, error)
}

// Doctor runs the checks of one configuration.
type Doctor struct {
	// Config is the configuration checked, as podd would load it.
	Config *configs.Config
	// System is the operating system (OS, or a test's).
	System System
	// Pod is podd's API on Config.API.Socket.
	Pod Pod
	// OpenHardware opens the buses of Config, called only when podd is
	// not running (Open: the simulator's or the board's).
	OpenHardware func() (Hardware, error)
}

// Open opens the hardware cfg runs on: the simulator's pod in sim mode,
// the board's buses in linux mode.
func Open(cfg *configs.Config) (Hardware, error) {
	if cfg.Hardware.Mode == configs.ModeSim {
		return NewSim(cfg)
	}
	return NewLinux()
}

// podState is what the API socket said.
type podState int

const (
	podDown    podState = iota // not running: the checks may open the hardware
	podUp                      // running: ask it, open nothing
	podUnknown                 // cannot tell: open nothing
)

// ConfigResult is the configuration's line: loaded from path (err from
// configs.Load), or every problem the loader found.
func ConfigResult(path string, cfg *configs.Config, err error) Result {
	if err != nil {
		return fail("config", fmt.Sprintf("%s: %v", path, err), "correct each key named (configs/doc.go lists every key; podctl config check FILE checks a file alone)")
	}
	return pass("config", fmt.Sprintf("%s: pod %s, hardware %s, sensors %v", path, cfg.Pod.ID, cfg.Hardware.Mode, cfg.Sensors.Enabled()))
}

// Run runs every check but the configuration's (ConfigResult), in
// order: the API socket, the bus device nodes (linux mode), the chips,
// the GPIO lines, the brokers, the clock, the disk and the store.
func (d *Doctor) Run(ctx context.Context) []Result {
	cfg := d.Config
	st, state, sock := d.socket(ctx)
	out := []Result{sock}
	if cfg.Hardware.Mode == configs.ModeLinux {
		out = append(out, d.checkNodes(cfg)...)
	}
	var hw Hardware
	switch state {
	case podDown:
		h, err := d.claimHardware()
		if err != nil {
			out = append(out, fail("hardware", fmt.Sprintf("cannot open the pod's hardware: %v", err), "see the lines above; in sim mode run podctl from the directory podd runs in (relative paths)"))
		} else {
			hw = h
		}
	}
	release := func() {
		if hw != nil {
			_ = hw.Close()
			hw = nil
		}
	}
	defer release() // also if a check panics
	chips := d.checkChips(ctx, cfg, state, st, hw)
	if state == podDown && hw == nil {
		for i := range chips {
			chips[i].Detail = "not checked: the hardware did not open (the line above)"
		}
	}
	out = append(out, chips...)
	out = append(out, d.checkLines(cfg, state, st, hw)...)
	// The checks below drive no hardware: podd, starting meanwhile, need
	// not wait for them (claimHardware).
	release()
	out = append(out, d.checkBrokers(ctx, cfg, state)...)
	out = append(out, d.checkClock(), d.checkDisk(cfg), d.checkStore(cfg, state, st))
	return out
}

// socket asks podd's API for its status.
func (d *Doctor) socket(ctx context.Context) (api.Status, podState, Result) {
	const check = "api socket"
	sock := d.Config.API.Socket
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := d.Pod.Status(ctx)
	switch {
	case err == nil:
		sim := ""
		if st.Simulated {
			sim = ", simulated"
		}
		return st, podUp, pass(check, fmt.Sprintf("podd answers on %s: pod %s, %s%s", sock, st.Pod, st.State, sim))
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED):
		// A silent socket is not yet a stopped podd: one starting (its
		// buses open before its API listens), or whose API part is being
		// retried, holds its run lock or its store.
		running, lerr := journal.DaemonRunning(d.Config.Storage.Path)
		if errors.Is(lerr, journal.ErrToolHolds) {
			return st, podUnknown, fail(check, fmt.Sprintf("nothing answers on %s, and another podctl check drives the hardware (it holds %s%s); podd, if it starts, waits for it", sock, d.Config.Storage.Path, journal.RunLockSuffix),
				"wait for the other check to finish, then run this again")
		}
		if running || lerr != nil {
			detail := fmt.Sprintf("nothing answers on %s, yet podd holds its store or run lock (%s%s): it is starting, or its API is failing", sock, d.Config.Storage.Path, journal.RunLockSuffix)
			if lerr != nil {
				detail = fmt.Sprintf("nothing answers on %s, and whether podd runs cannot be told: %v", sock, lerr)
			}
			return st, podUnknown, fail(check, detail,
				"wait a minute and run it again; if it stays so: journalctl -u podd (podctl status names a failing part)")
		}
		return st, podDown, warn(check, fmt.Sprintf("podd is not running (nothing answers on %s): the hardware is checked directly", sock),
			"start it: sudo systemctl start podd (make run for the simulator); journalctl -u podd says why it stopped")
	case errors.Is(err, fs.ErrPermission):
		return st, podUnknown, fail(check, fmt.Sprintf("%s: %v", sock, err),
			"join group podd: sudo usermod -aG podd $USER, then log in again; or run podctl with sudo")
	}
	return st, podUnknown, fail(check, fmt.Sprintf("%s does not answer: %v", sock, err),
		"podd may be hung: journalctl -u podd; sudo systemctl restart podd")
}

// notChecked is the detail of a check that needed the hardware while
// podd's state is unknown.
const notChecked = "not checked: podd's API does not answer, and podd may hold the buses"
