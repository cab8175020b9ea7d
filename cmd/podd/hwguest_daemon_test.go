//go:build hwtest

package main

// make hwtest: the whole daemon, runPod as podd's main runs it, in linux
// mode on the guest's buses.

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
)

// syncBuffer is a log sink safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventually polls cond every 50 ms for up to d: the daemon's goroutines
// open the chips on their own time.
func eventually(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// podd's daemon on pod.yaml (its store, socket and broker moved to the
// guest's /tmp and an address where nothing listens; no kernel watchdog)
// shows the safe light on the strip, opens and configures every chip and
// output on its own and puts the outputs in their safe state; at the stop
// it halts every chip and output again (each made to look on before) and
// leaves the strip at the safe light.
func TestHWTheDaemonOpensEveryChipAndHaltsThemAtTheStop(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	powerOn(t)
	dir := t.TempDir()
	cfg := guestConfig(t,
		"PODD_STORAGE_PATH="+dir+"/podd.db",
		"PODD_API_SOCKET="+dir+"/podd.sock",
		"PODD_UPLINK_BROKER=tcp://127.0.0.1:1",
		"PODD_WATCHDOG_DEVICE=",
	)
	outputsLeftOn(t, cfg)
	oe, motor, ind, en := lineOf(t, lineOE), lineOf(t, lineMotorFeet), lineOf(t, lineIndicator), lineOf(t, lineDRVEN)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runPod(ctx, cfg, log, deps{openWatchdog: openHardwareWatchdog}) }()
	stopped := false
	stop := func() error {
		cancel()
		if stopped {
			return nil
		}
		stopped = true
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatalf("runPod did not return 30 s after its context ended\n%s", logs.String())
			return nil
		}
	}
	defer func() { _ = stop() }()

	clamp := odClamp(3.0, cfg.Haptics.MaxIntensity)
	pre := preScale(float64(cfg.Lights.PCA9685.FrequencyHz))
	configured := func() bool {
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("runPod returned at start: %v\n%s", err, logs.String())
		default:
		}
		ads := adsRegs(t)
		return reg8(t, addrMAX30102, 0x09) == 0x03 && // MODE_CONFIG: SpO2 mode
			reg16(t, addrTMP117, 0x01)&0x0C00 == 0 && // Configuration: MOD 00, continuous
			reg16(t, addrADS1115, 0x01)&0x7FFF == 0x4383 &&
			ads[0x03] == 0xEC && ads[0x17] == 0x02 && // CONFIG3, CONFIG4
			reg8(t, addrPCA9685, pcaPreScale) == pre && reg8(t, addrPCA9685, pcaMODE1) == 0x20 &&
			reg8(t, addrDRV2605L, drvODClamp) == clamp && reg8(t, addrDRV2605L, drvLibrary) == 0x01
	}
	if !eventually(20*time.Second, configured) {
		t.Fatalf("not every chip configured: MAX30102 MODE_CONFIG 0x%02X, TMP117 Configuration 0x%04X, ADS1115 Config 0x%04X, ADS1299 % X, PCA9685 PRE_SCALE %d MODE1 0x%02X, DRV2605L OD_CLAMP %d LIBRARY %d\n%s",
			reg8(t, addrMAX30102, 0x09), reg16(t, addrTMP117, 0x01), reg16(t, addrADS1115, 0x01), adsRegs(t),
			reg8(t, addrPCA9685, pcaPreScale), reg8(t, addrPCA9685, pcaMODE1), reg8(t, addrDRV2605L, drvODClamp), reg8(t, addrDRV2605L, drvLibrary), logs.String())
	}
	safe := safeFrame(t, cfg)
	if last := spiLastMessage(t, 0); !slices.Equal(last.tx, safe) {
		t.Fatalf("the strip's last frame at start %x, want the safe light's %x", last.tx, safe)
	}
	if !strings.Contains(logs.String(), "msg=\"podd starting\"") {
		t.Fatalf("no start in the log:\n%s", logs.String())
	}
	// New drove the motor and the indicator low; the indicator stays low
	// with no abort latched. With no vitals the pod never opens its
	// outputs: the start's safe state holds, OE high, the PCA9685 full off
	// and the DRV2605L shut down by EN and in standby.
	if motor.level() || ind.level() {
		t.Errorf("at start: motor (GPIO5) high %v, indicator (GPIO12) high %v; want both low", motor.level(), ind.level())
	}
	if strings.Contains(logs.String(), "outputs open") {
		t.Fatalf("the outputs opened with no vitals:\n%s", logs.String())
	}
	if !oe.level() || reg8(t, addrPCA9685, pcaAllLEDOffH) != pcaFullOffBit {
		t.Errorf("at start: PCA9685 OE (GPIO6) high %v, ALL_LED_OFF_H 0x%02X; want high and 0x%02X (the start's safe state)", oe.level(), reg8(t, addrPCA9685, pcaAllLEDOffH), pcaFullOffBit)
	}
	if m, r := reg8(t, addrDRV2605L, drvMode), reg8(t, addrDRV2605L, drvRTPInput); m != drvModeStandby || r != 0 || en.level() {
		t.Errorf("at start: DRV2605L MODE 0x%02X, RTP_INPUT 0x%02X, EN (GPIO13) high %v; want 0x40 (standby), 0 and low (the start's safe state)", m, r, en.level())
	}

	// The outputs made to look on, so that the stop's safe state shows:
	// OE low, the motor and the DRV2605L's EN high through their lines,
	// the PCA9685's ALL_LED_OFF_H clear, the DRV2605L playing at full
	// drive.
	for name, l := range map[string]gpio.Level{"GPIO6": gpio.Low, "GPIO5": gpio.High, "GPIO13": gpio.High} {
		if err := gpioreg.ByName(name).Out(l); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	setReg8(t, addrPCA9685, pcaAllLEDOffH, 0)
	setReg8(t, addrDRV2605L, drvRTPInput, 0x7F)
	setReg8(t, addrDRV2605L, drvMode, drvModeRTP)

	if err := stop(); err != nil {
		t.Fatalf("runPod: %v\n%s", err, logs.String())
	}
	if got := reg8(t, addrMAX30102, 0x09); got != 0x83 {
		t.Errorf("MAX30102 MODE_CONFIG after the stop 0x%02X, want 0x83 (SHDN)", got)
	}
	if got := reg16(t, addrTMP117, 0x01) & 0x0C00; got != 0x0400 {
		t.Errorf("TMP117 MOD after the stop 0x%04X, want 0x0400 (shutdown)", got)
	}
	if last := spiLastMessage(t, 0); !slices.Equal(last.tx, safe) {
		t.Errorf("the strip's last frame after the stop %x, want the safe light's %x", last.tx, safe)
	}
	if !oe.level() {
		t.Error("PCA9685 OE (GPIO6) low after the stop: the kill line was not driven")
	}
	if got := reg8(t, addrPCA9685, pcaAllLEDOffH); got != pcaFullOffBit {
		t.Errorf("PCA9685 ALL_LED_OFF_H after the stop 0x%02X, want 0x%02X (full off)", got, pcaFullOffBit)
	}
	if got := reg8(t, addrDRV2605L, drvRTPInput); got != 0 {
		t.Errorf("DRV2605L RTP_INPUT after the stop 0x%02X, want 0", got)
	}
	if got := reg8(t, addrDRV2605L, drvMode); got != drvModeStandby {
		t.Errorf("DRV2605L MODE after the stop 0x%02X, want 0x40 (standby)", got)
	}
	if en.level() {
		t.Error("DRV2605L EN (GPIO13) high after the stop: the kill line was not driven")
	}
	if motor.level() || ind.level() {
		t.Errorf("after the stop: motor (GPIO5) high %v, indicator (GPIO12) high %v; want both low", motor.level(), ind.level())
	}
	if t.Failed() {
		t.Logf("podd's log:\n%s", logs.String())
	}
}
