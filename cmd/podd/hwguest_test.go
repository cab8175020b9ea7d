//go:build hwtest

package main

// make hwtest's tests: they run inside its virtual machine (hwtest/run.sh),
// on Debian's kernel with emulated buses (hwtest/init), and open the pod's
// shipped configuration (configs/pod.yaml) through openHardware, the code
// hardware.mode: linux runs: periph's host drivers on /dev/i2c-1,
// /dev/spidev0.0 (the LED strip), /dev/spidev1.0 (the EEG) and the GPIO
// character device (the buttons, the EEG's DRDY).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sensors/max30102"
)

const podYAML = "../../configs/pod.yaml"

// The chips of the guest's bus 1 (hwtest/init) at pod.yaml's addresses.
const (
	addrMAX30102 = 0x57
	addrTMP117   = 0x48
	addrADS1115  = 0x49
)

// guestConfig is pod.yaml with env's overrides ("PODD_KEY=value").
func guestConfig(t *testing.T, env ...string) *configs.Config {
	t.Helper()
	cfg, err := configs.Load(podYAML, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Hardware.Mode != configs.ModeLinux {
		t.Fatalf("pod.yaml's hardware.mode is %q", cfg.Hardware.Mode)
	}
	return cfg
}

func openGuest(t *testing.T, env ...string) (*configs.Config, *hardware) {
	t.Helper()
	cfg := guestConfig(t, env...)
	hw, err := openHardware(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hw.close)
	return cfg, hw
}

// powerOn loads the register files with what each chip holds after power-on
// (datasheets: MAX30102 p. 10, TMP117 Table 7-3, ADS1115 Table 8-3), except
// the registers podd configures, which hold what a previous run left (a
// MAX30102 that was sampling, a TMP117 put in shutdown by Halt), so that
// every one of podd's writes shows.
func powerOn(t *testing.T) {
	t.Helper()
	for reg, v := range map[uint8]uint8{
		0xFF: 0x15, // PART_ID
		0xFE: 0x03, // REV_ID
		0x04: 0x0B, // FIFO_WR_PTR
		0x05: 0x02, // OVF_COUNTER
		0x06: 0x05, // FIFO_RD_PTR
		0x08: 0x00, // FIFO_CONFIG
		0x09: 0x03, // MODE_CONFIG: SpO2 mode, sampling
		0x0A: 0x00, // SPO2_CONFIG
		0x0C: 0x00, // LED1_PA
		0x0D: 0x00, // LED2_PA
	} {
		setReg8(t, addrMAX30102, reg, v)
	}
	setReg16(t, addrTMP117, 0x0F, 0x0117) // Device_ID
	setReg16(t, addrTMP117, 0x01, 0x0620) // Configuration: MOD 01 (shutdown), CONV 100, AVG 01
	setReg16(t, addrTMP117, 0x00, 0x8000) // Temp_Result
	setReg16(t, addrADS1115, 0x01, 0x8583)
	setReg16(t, addrADS1115, 0x00, 0x0000)
	// The ADS1299: its ID, and every other register as another program
	// left it (podd's RESET restores them).
	regs := make([]byte, 24)
	for i := range regs {
		regs[i] = 0xAA
	}
	regs[0] = 0x3E
	setADSRegs(t, regs)
}

func sensorNamed(t *testing.T, hw *hardware, name string) sensing.Sensor {
	t.Helper()
	for _, s := range hw.sensors {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no sensor %s among %d", name, len(hw.sensors))
	return sensing.Sensor{}
}

// Each I²C driver's identification and configuration go through the
// kernel's i2c-dev (I2C_RDWR) and land in the chip's register file, with
// the values the datasheets give for pod.yaml's settings.
func TestHWI2CChipsAreIdentifiedAndConfiguredThroughTheKernel(t *testing.T) {
	powerOn(t)
	_, hw := openGuest(t)

	ox, err := hw.openOximeter()
	if err != nil {
		t.Fatalf("max30102: %v", err)
	}
	// MAX30102 at the driver's defaults: SMP_AVE 4 (010), A_FULL 15;
	// ADC range 4096 nA (01), 100 samples/s (001), 411 µs (11); LED1_PA and
	// LED2_PA 0x24 for the 7 mA asked (the driver scales 0..50 mA to
	// 0..255; the datasheet's step is 0.2 mA, so 0x24 is 7.2 mA); FIFO
	// pointers cleared; SpO2 mode with the RESET bit (which clears itself)
	// written before.
	for reg, want := range map[uint8]uint8{0x08: 0x4F, 0x0A: 0x27, 0x0C: 0x24, 0x0D: 0x24, 0x04: 0, 0x05: 0, 0x06: 0, 0x09: 0x03} {
		if got := reg8(t, addrMAX30102, reg); got != want {
			t.Errorf("MAX30102 register 0x%02X = 0x%02X, want 0x%02X", reg, got, want)
		}
	}
	if err := ox.Halt(); err != nil {
		t.Fatal(err)
	}
	if got := reg8(t, addrMAX30102, 0x09); got != 0x83 {
		t.Errorf("MAX30102 MODE_CONFIG after Halt = 0x%02X, want 0x83 (SHDN)", got)
	}

	if _, err := sensorNamed(t, hw, "tmp117").Open(); err != nil {
		t.Fatalf("tmp117: %v", err)
	}
	// rate_hz 1: CONV 100 with AVG 01 (8 averages) is a 1 s cycle;
	// MOD 00, continuous.
	if got := reg16(t, addrTMP117, 0x01); got != 0x0220 {
		t.Errorf("TMP117 Configuration = 0x%04X, want 0x0220", got)
	}

	if _, err := sensorNamed(t, hw, "ads1115").Open(); err != nil {
		t.Fatalf("ads1115: %v", err)
	}
	// AIN0 against GND (MUX 100), ±4.096 V for a 3.3 V supply (PGA 001),
	// single-shot (MODE 1), 128 SPS (DR 100), comparator off (COMP_QUE 11).
	if got := reg16(t, addrADS1115, 0x01) &^ 0x8000; got != 0x4383 {
		t.Errorf("ADS1115 Config = 0x%04X (OS aside), want 0x4383", got)
	}
}

// The oximeter's samples come from the chip's FIFO through the kernel: the
// pointers and INT_STATUS1 in one burst, then the FIFO_DATA burst, 18-bit
// red and IR samples, most significant byte first.
func TestHWOximeterSamplesComeThroughTheKernel(t *testing.T) {
	powerOn(t)
	_, hw := openGuest(t)
	ox, err := hw.openOximeter()
	if err != nil {
		t.Fatalf("max30102: %v", err)
	}
	want := []max30102.Sample{{Red: 0x12345, IR: 0x23456}, {Red: 0x3FFFF, IR: 0}, {Red: 1, IR: 0x20000}, {Red: 100000, IR: 120000}, {Red: 0x10101, IR: 0x01010}}
	var fifo []byte
	for _, s := range want {
		fifo = append(fifo, byte(s.Red>>16), byte(s.Red>>8), byte(s.Red), byte(s.IR>>16), byte(s.IR>>8), byte(s.IR))
	}
	// The top bits of each 3 bytes are not the sample's (bits 23:18).
	fifo[0] |= 0xC0
	setFIFO(t, addrMAX30102, 0x07, fifo)
	setReg8(t, addrMAX30102, 0x04, byte(len(want))) // FIFO_WR_PTR: 5 unread
	setReg8(t, addrMAX30102, 0x06, 0)               // FIFO_RD_PTR
	dst := make([]max30102.Sample, max30102.FIFODepth)
	n, lost, err := ox.ReadFIFO(dst)
	if err != nil || n != len(want) || lost != 0 {
		t.Fatalf("ReadFIFO: %d samples, %d lost, %v; want %d, 0", n, lost, err, len(want))
	}
	if !slices.Equal(dst[:n], want) {
		t.Fatalf("samples\n got %v\nwant %v", dst[:n], want)
	}
}

// The thermometer's results come through the kernel: a result is fresh
// once, when Configuration's Data_Ready says so (reading it clears the
// flag, as on the chip).
func TestHWThermometerReadsFreshResultsThroughTheKernel(t *testing.T) {
	powerOn(t)
	_, hw := openGuest(t)
	dev, err := sensorNamed(t, hw, "tmp117").Open()
	if err != nil {
		t.Fatalf("tmp117: %v", err)
	}
	t.Cleanup(func() { _ = dev.Halt() })
	setReg16(t, addrTMP117, 0x00, 0x1240) // 36.5 °C (4672 x 7.8125 m°C)
	setReg16(t, addrTMP117, 0x01, 0x2220) // Data_Ready, and New's configuration
	p, err := dev.Poll(time.Now())
	if err != nil || !p.Fresh || p.State != "" { // "" is OK (sensing.Poll)
		t.Fatalf("a result ready: %+v, %v; want fresh, ok", p, err)
	}
	if got := reg16(t, addrTMP117, 0x01); got != 0x0220 {
		t.Fatalf("Configuration after the read 0x%04X, want 0x0220 (Data_Ready cleared)", got)
	}
	if p, err = dev.Poll(time.Now()); err != nil || p.Fresh {
		t.Fatalf("no new result: %+v, %v; want not fresh", p, err)
	}
}

// The EEG front end's RESET, SDATAC and configuration go out on SPI1.0 in
// SPI mode 1 and land in the ADS1299's registers with the values the
// datasheet gives for pod.yaml's settings; the ADS1299 ignores register
// writes in RDATAC mode, its power-on mode, so they land only after
// SDATAC.
func TestHWEEGFrontEndIsConfiguredThroughTheKernel(t *testing.T) {
	powerOn(t)
	_, hw := openGuest(t)
	if _, err := sensorNamed(t, hw, "ads1299").Open(); err != nil {
		t.Fatalf("ads1299: %v", err)
	}
	// rate_hz 250: CONFIG1 0x96 (DR 110); CONFIG2 0xC0; CONFIG3 0xEC
	// (internal reference, bias buffer on); LOFF 0x00; gain 24 on each
	// of the 8 channels, normal input: CHnSET 0x60; lead-off detection on
	// every channel: LOFF_SENSP and LOFF_SENSN 0xFF, CONFIG4 0x02
	// (PD_LOFF_COMP).
	want := []byte{0x3E, 0x96, 0xC0, 0xEC, 0x00, 0x60, 0x60, 0x60, 0x60, 0x60, 0x60, 0x60, 0x60,
		0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x0F, 0x00, 0x00, 0x02}
	if got := adsRegs(t); !slices.Equal(got, want) {
		t.Errorf("ADS1299 registers\n got % X\nwant % X", got, want)
	}
	// Started: START, then RDATAC last, in mode 1 at 2 MHz.
	last := spiLastMessage(t, 1)
	if !slices.Equal(last.tx, []byte{0x10}) || last.mode != 1 || last.bits != 8 || last.speedHz != 2_000_000 {
		t.Errorf("last SPI1.0 message %x in mode %d, %d bits, %d Hz: want RDATAC (10) in mode 1, 8 bits, 2000000 Hz", last.tx, last.mode, last.bits, last.speedHz)
	}

	// A 4-channel part is refused by its ID.
	regs := adsRegs(t)
	regs[0] = 0x3C
	setADSRegs(t, regs)
	t.Cleanup(func() { powerOn(t) })
	_, err := sensorNamed(t, hw, "ads1299").Open()
	if want := "ads1299: ID 0x3C, want 0x3E (ID & 0x1F == 0x1E): an ADS1299-4, a 4-channel part"; err == nil || err.Error() != want {
		t.Errorf("a 4-channel part: %v, want %s", err, want)
	}
}

// The EEG's frames are read on DRDY's falling edges, made through
// gpio-sim, from the chip over spidev: frames whose status word has every
// electrode off make the sensor lead_off, a frame with no status word is
// refused, and without edges the sensor says DRDY does not fall.
func TestHWEEGFramesAreReadOnDRDYEdges(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	powerOn(t)
	_, hw := openGuest(t)
	dev, err := sensorNamed(t, hw, "ads1299").Open()
	if err != nil {
		t.Fatalf("ads1299: %v", err)
	}
	t.Cleanup(func() { _ = dev.Halt() })
	drdy := lineOf(t, 25)

	// DRDY pulses: high, then low (a conversion ready), every 2 ms.
	pulse := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ctx.Err() == nil {
				for _, level := range []string{"pull-up", "pull-down"} {
					if err := os.WriteFile(drdy.pull, []byte(level), 0); err != nil {
						t.Errorf("DRDY: %v", err)
						return
					}
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
		return func() { cancel(); <-done }
	}

	// Status 1100, LOFF_STATP 0xFF (every positive electrode off),
	// LOFF_STATN 0x00, GPIO 0; then 8 channels of 24 bits.
	off := append([]byte{0xCF, 0xF0, 0x00}, make([]byte, 24)...)
	for i := range 8 {
		off[3+3*i] = byte(i + 1)
	}
	setADSFrame(t, off)
	stop := pulse()
	p, err := dev.Poll(time.Now())
	stop()
	if err != nil || !p.Fresh || p.State != sensing.LeadOff {
		t.Fatalf("every electrode off: %+v, %v; want fresh lead_off", p, err)
	}

	setADSFrame(t, make([]byte, 27)) // MISO low: no status word
	stop = pulse()
	_, err = dev.Poll(time.Now())
	stop()
	if !errors.Is(err, ads1299.ErrBadStatus) {
		t.Fatalf("a frame of zeros: %v, want ErrBadStatus", err)
	}

	drdy.set("pull-up") // DRDY stays high: no conversion
	if _, err = dev.Poll(time.Now()); !errors.Is(err, ads1299.ErrNoDRDY) {
		t.Fatalf("no DRDY edge: %v, want ErrNoDRDY", err)
	}
}

// The identification reads come from the chip: another ID is refused.
func TestHWAChipWithAnotherIDIsRefused(t *testing.T) {
	powerOn(t)
	setReg8(t, addrMAX30102, 0xFF, 0x11) // a MAX30100's PART_ID
	setReg16(t, addrTMP117, 0x0F, 0x8583)
	t.Cleanup(func() { powerOn(t) })
	_, hw := openGuest(t)
	_, err := hw.openOximeter()
	if err == nil || err.Error() != "max30102: part ID 0x11, want 0x15: not a MAX30102" {
		t.Errorf("max30102: %v", err)
	}
	_, err = sensorNamed(t, hw, "tmp117").Open()
	if err == nil || !strings.HasPrefix(err.Error(), "tmp117 at 0x48: Device_ID 0x8583, want 0x0117: not a TMP117") {
		t.Errorf("tmp117: %v", err)
	}
}

// A chip that does not answer at its configured address: the message
// names the key, the address, the bus and the fix.
func TestHWAChipThatDoesNotAnswerIsNamedWithTheFix(t *testing.T) {
	powerOn(t)
	_, hw := openGuest(t, "PODD_SENSORS_TMP117_ADDRESS=0x4A")
	_, err := sensorNamed(t, hw, "tmp117").Open()
	want := "sensors.tmp117: no chip answers at 0x4A on /dev/i2c-1: check the chip's power and wiring (SDA, SCL, GND, its address strap) and sensors.tmp117's address and i2c_bus; i2cdetect -y 1 lists the addresses that answer: tmp117 at 0x4A: read Device_ID: sysfs-i2c: no such device or address"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

// A bus or line the kernel does not have: openHardware refuses the
// configuration, naming the key, the device node and the fix.
func TestHWAMissingBusIsNamedWithTheFix(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct{ env, want string }{
		{"PODD_HARDWARE_I2C_BUS=5", `hardware.i2c_bus "5": no such I2C bus: /dev/i2c-5 does not exist; enable the bus and load i2c-dev (on a Raspberry Pi: dtparam=i2c_arm=on in config.txt, then reboot; modprobe i2c-dev), or set hardware.i2c_bus to a bus that exists (ls /dev/i2c-*)`},
		{"PODD_HARDWARE_SPI_PORT=SPI3.0", `hardware.spi_port "SPI3.0": no such SPI port: /dev/spidev3.0 does not exist; enable the bus and its spidev device (on a Raspberry Pi: dtparam=spi=on for SPI0, dtoverlay=spi1-1cs for SPI1, in config.txt, then reboot), or set hardware.spi_port to a port that exists (ls /dev/spidev*)`},
		{"PODD_SENSORS_TMP117_I2C_BUS=3", `sensors.tmp117.i2c_bus "3": no such I2C bus: /dev/i2c-3 does not exist; enable the bus and load i2c-dev (on a Raspberry Pi: dtparam=i2c_arm=on in config.txt, then reboot; modprobe i2c-dev), or set sensors.tmp117.i2c_bus to a bus that exists (ls /dev/i2c-*)`},
		{"PODD_HARDWARE_PANIC_BUTTON=GPIO5", `hardware.panic_button "GPIO5": ` + noLineFix},
	} {
		hw, err := openHardware(guestConfig(t, c.env), log)
		if err == nil {
			hw.close()
			t.Errorf("%s: opened", c.env)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("%s:\ngot  %v\nwant %s", c.env, err, c.want)
		}
	}
}

// A bus podd's user may not open: run as nobody with /dev/i2c-1 root's
// alone, openHardware names the node, the group and the fix.
func TestHWAPermissionErrorIsNamedWithTheFix(t *testing.T) {
	st, err := os.Stat(stubBus)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(stubBus, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(stubBus, st.Mode().Perm()) })
	cmd := exec.Command(os.Args[0], "-test.run=^TestGuestChildOpensTheHardware$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HWTEST_CHILD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := `open: hardware.i2c_bus "1": /dev/i2c-1: permission denied; podd needs read and write access to it: the podd package's unit runs podd in group i2c (SupplementaryGroups=) and its udev rule (/usr/lib/udev/rules.d/99-podd.rules) gives the node to that group; run by hand, add the user to group i2c (usermod -aG i2c USER) and log in again`
	if !slices.Contains(strings.Split(string(out), "\n"), want) {
		t.Fatalf("child's output has no line\n%s\n:\n%s", want, out)
	}
}

// TestGuestChildOpensTheHardware is the permission test's child: it prints
// openHardware's error as the line "open: ERROR".
func TestGuestChildOpensTheHardware(t *testing.T) {
	if os.Getenv("HWTEST_CHILD") == "" {
		t.Skip("the permission test's child process")
	}
	hw, err := openHardware(guestConfig(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		hw.close()
		t.Fatal("opened as uid 65534")
	}
	os.Stdout.WriteString("open: " + err.Error() + "\n")
}

// The LED strip's frames and its safe state reach the SPI controller as
// the APA102 protocol has them, in SPI mode 0, 8 bits, at 4 MHz.
func TestHWLEDStripFramesAndSafeStateReachTheController(t *testing.T) {
	cfg, hw := openGuest(t)
	n := cfg.Hardware.LEDCount
	before := spiLastMessage(t, 0).messages

	strip, err := openStrip(cfg, hw)
	if err != nil {
		t.Fatal(err)
	}
	got := spiLastMessage(t, 0)
	if got.messages != before+1 || !slices.Equal(got.tx, darkFrame(n)) {
		t.Fatalf("after openStrip: %d messages (want %d), last %x, want the dark frame %x", got.messages, before+1, got.tx, darkFrame(n))
	}
	if got.mode != 0 || got.bits != 8 || got.speedHz != 4_000_000 || got.cs != 0 {
		t.Errorf("mode %d, %d bits, %d Hz, chip select %d: want mode 0, 8 bits, 4000000 Hz, 0", got.mode, got.bits, got.speedHz, got.cs)
	}

	gate := actuators.NewGate(strip)
	if err := gate.Open(); err != nil {
		t.Fatal(err)
	}
	px := make([]apa102.Color, n)
	want := make([][3]byte, n)
	for i := range px {
		px[i] = apa102.Color{R: byte(i), G: byte(2 * i), B: byte(255 - i)}
		want[i] = [3]byte{byte(i), byte(2 * i), byte(255 - i)}
	}
	if err := gate.Do(func() error { return strip.Write(px) }); err != nil {
		t.Fatal(err)
	}
	if got := spiLastMessage(t, 0); got.messages != before+2 || !slices.Equal(got.tx, frame(want)) {
		t.Fatalf("after Write: %d messages (want %d), last %x, want %x", got.messages, before+2, got.tx, frame(want))
	}

	if err := gate.SafeState(); err != nil {
		t.Fatal(err)
	}
	if got := spiLastMessage(t, 0); got.messages != before+3 || !slices.Equal(got.tx, darkFrame(n)) {
		t.Fatalf("after SafeState: %d messages (want %d), last %x, want the dark frame", got.messages, before+3, got.tx)
	}
	// Safe, the strip sends nothing more.
	if err := strip.Write(px); !errors.Is(err, apa102.ErrHalted) {
		t.Fatalf("Write after SafeState: %v, want ErrHalted", err)
	}
	if got := spiLastMessage(t, 0); got.messages != before+3 {
		t.Fatalf("a Write after SafeState reached the controller (%d messages)", got.messages)
	}
}

// The buttons see edges the test makes on gpio-sim's lines, debounced as
// configured (30 ms), each on its own line, and the acknowledgement button
// only when held for hardware.ack_hold.
func TestHWButtonsSeeRealEdgesDebounced(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	_, hw := openGuest(t, "PODD_HARDWARE_ACK_HOLD=1s")
	type press struct {
		button string
		at     time.Time
	}
	presses := make(chan press, 16)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for name, b := range map[string]interface {
		Run(context.Context, func()) error
	}{"consent": hw.consentButton, "panic": hw.panicButton, "ack": hw.ackButton} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Run(ctx, func() { presses <- press{name, time.Now()} }); err != nil {
				t.Errorf("%s: Run: %v", name, err)
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	// Buttons to ground: the pod's pull-up holds a line high until a
	// press pulls it down.
	quiet := func(d time.Duration) {
		t.Helper()
		select {
		case p := <-presses:
			t.Fatalf("unexpected press of %s", p.button)
		case <-time.After(d):
		}
	}
	hold := func(line simLine, d time.Duration) time.Time {
		start := time.Now()
		line.set("pull-down")
		time.Sleep(d)
		line.set("pull-up")
		return start
	}
	expect := func(button string, start time.Time, atLeast time.Duration) {
		t.Helper()
		select {
		case p := <-presses:
			if p.button != button {
				t.Fatalf("a press of %s, want %s", p.button, button)
			}
			if d := p.at.Sub(start); d < atLeast {
				t.Fatalf("%s's press came %s after the edge, sooner than %s", button, d, atLeast)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no press of %s", button)
		}
	}
	consent, panicL, ack := lineOf(t, 17), lineOf(t, 27), lineOf(t, 22)
	quiet(200 * time.Millisecond) // lines idle high: nothing at start

	expect("consent", hold(consent, 300*time.Millisecond), 30*time.Millisecond)
	quiet(200 * time.Millisecond) // held 300 ms: one press
	expect("panic", hold(panicL, 300*time.Millisecond), 30*time.Millisecond)
	quiet(200 * time.Millisecond)

	// A spike shorter than the debounce is no press.
	consent.set("pull-down")
	consent.set("pull-up")
	quiet(300 * time.Millisecond)

	// The acknowledgement: held less than ack_hold, nothing; held longer,
	// one press at debounce + hold.
	hold(ack, 500*time.Millisecond)
	quiet(1500 * time.Millisecond)
	expect("ack", hold(ack, 1500*time.Millisecond), time.Second+30*time.Millisecond)
	quiet(200 * time.Millisecond)
}

// The unit's DevicePolicy=closed allows devices by the names their drivers
// register in /proc/devices: every char-NAME it allows must be one the
// kernel has, and every node linux mode opens must be allowed.
func TestHWUnitDeviceAllowMatchesTheKernelsDeviceNames(t *testing.T) {
	unit, err := os.ReadFile("../../systemd/podd.service")
	if err != nil {
		t.Fatal(err)
	}
	var allowed []string
	for _, l := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(l, "DeviceAllow="); ok {
			if name, ok := strings.CutPrefix(strings.Fields(v)[0], "char-"); ok {
				allowed = append(allowed, name)
			}
		}
	}
	if len(allowed) == 0 {
		t.Fatal("the unit allows no char-NAME")
	}
	names := charDevices(t) // major -> name
	for _, a := range allowed {
		found := false
		for _, n := range names {
			found = found || n == a
		}
		if !found {
			t.Errorf("DeviceAllow=char-%s: the kernel has no character device %q (/proc/devices)", a, a)
		}
	}
	_, gpio := simChip(t)
	for _, node := range []string{stubBus, "/dev/spidev0.0", "/dev/spidev1.0", gpio} {
		var st syscall.Stat_t
		if err := syscall.Stat(node, &st); err != nil {
			t.Fatal(err)
		}
		major := int(unix.Major(st.Rdev))
		if name := names[major]; !slices.Contains(allowed, name) {
			t.Errorf("%s (major %d, %q): not in the unit's DeviceAllow=char-* %q", node, major, name, allowed)
		}
	}
}

// charDevices is /proc/devices's character devices: major -> name.
func charDevices(t *testing.T) map[int]string {
	t.Helper()
	f, err := os.Open("/proc/devices")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int]string{}
	sc := bufio.NewScanner(f)
	inChar := false
	for sc.Scan() {
		switch l := strings.TrimSpace(sc.Text()); {
		case l == "Character devices:":
			inChar = true
		case l == "" || strings.HasSuffix(l, ":"):
			inChar = false
		case inChar:
			var major int
			var name string
			if _, err := fmt.Sscan(l, &major, &name); err == nil {
				out[major] = name
			}
		}
	}
	return out
}
