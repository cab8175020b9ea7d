//go:build hwtest

package main

// make hwtest's tests: they run inside its virtual machine (hwtest/run.sh),
// on Debian's kernel with emulated buses (hwtest/init), and open the pod's
// shipped configuration (configs/pod.yaml) through openHardware, the code
// hardware.mode: linux runs: periph's host drivers on /dev/i2c-1,
// /dev/spidev0.0 (the LED strip), /dev/spidev1.0 (the EEG) and the GPIO
// character device (the buttons, the EEG's DRDY).

import (
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/sensing"
	"github.com/sleegation/podd/sensors/max30102"
)

const podYAML = "../../configs/pod.yaml"

// The chips of the guest's bus 1 (hwtest/init) at pod.yaml's addresses.
const (
	addrMAX30102 = 0x57
	addrTMP117   = 0x48
	addrADS1115  = 0x49
	addrPCA9685  = 0x40
	addrDRV2605L = 0x5A
)

// The PCA9685's and the DRV2605L's registers the tests read (data sheets:
// PCA9685 table 4, DRV2605L "Register Map").
const (
	pcaMODE1       = 0x00
	pcaMODE2       = 0x01
	pcaLED0        = 0x06 // LED0_ON_L; LEDn_ON_L is 0x06 + 4n
	pcaAllLEDOffH  = 0xFD // ALL_LED_OFF_H
	pcaPreScale    = 0xFE
	drvStatus      = 0x00
	drvMode        = 0x01
	drvRTPInput    = 0x02
	drvLibrary     = 0x03
	drvODClamp     = 0x17
	drvFeedback    = 0x1A
	drvControl3    = 0x1D
	pcaFullOffBit  = 0x10 // bit 4 of LEDn_OFF_H and ALL_LED_OFF_H
	drvModeRTP     = 0x05 // STANDBY 0, real-time playback
	drvModeStandby = 0x40 // STANDBY 1
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
// (the datasheets' register maps), except
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
	// The PCA9685 as a run that lit channels 0 to 2 left it: awake with a
	// restart pending (MODE1 RESTART, AI, ALLCALL), inverted open-drain
	// outputs (MODE2), PRE_SCALE at its power-on 30 (200 Hz), no
	// ALL_LED_OFF_H. PRE_SCALE takes a write only while the chip sleeps.
	for reg, v := range map[uint8]uint8{
		pcaMODE1: 0xA1, pcaMODE2: 0x11, pcaPreScale: 0x1E, pcaAllLEDOffH: 0x00,
		pcaLED0 + 3: 0x0F, pcaLED0 + 7: 0x08, pcaLED0 + 11: 0x04,
	} {
		setReg8(t, addrPCA9685, reg, v)
	}
	// The DRV2605L: STATUS's DEVICE_ID 7 (bits 7:5), no fault; the rest
	// as a run playing an LRA at full drive left it.
	for reg, v := range map[uint8]uint8{
		drvStatus: 7 << 5, drvMode: drvModeRTP, drvRTPInput: 0x7F, drvLibrary: 0x06,
		drvFeedback: 0xB6, drvODClamp: 0xFF, drvControl3: 0xA1,
	} {
		setReg8(t, addrDRV2605L, reg, v)
	}
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
