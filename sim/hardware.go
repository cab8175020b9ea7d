package sim

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/sleegation/podd/sensors/eda"
	"github.com/sleegation/podd/sim/scenario"
)

// Hardware is a whole simulated pod: the I²C bus with the pulse oximeter,
// the skin conductance ADC and the thermometer, the SPI port with the LED
// strip, and the sleeper of a scenario.
type Hardware struct {
	I2C      *I2CBus
	SPI      *SPIPort
	Oximeter *MAX30102
	Strip    *APA102
	// Skin is the ADS1115 of the skin conductance circuit (SkinCircuit) at
	// SkinAddr; Thermo the TMP117 at ThermoAddr.
	Skin   *ADS1115
	Thermo *TMP117
	// EEG is the ADS1299 on its own SPI port (EEGPort, the pod's second
	// chip select) with its DRDY line; its signal is an EEGSignal whose
	// bands follow the scenario's eeg powers, plus the scenario's blinks
	// and movements, or a recording.
	EEG     *ADS1299
	EEGPort *SPIPort
	DRDY    *Line
	eeg     *EEGSignal
	// ConsentLine and PanicLine are the sleeper's buttons, each to ground
	// on a line with its pull-up: a scenario's press holds the line Low for
	// PressHold. AckLine is the acknowledgement button, wired the same
	// way; a scenario's ack press holds it for HardwareOpts.AckPressHold.
	ConsentLine, PanicLine, AckLine *Line

	// MotorLines are the GPIO lines of vibration motors, by line name
	// (MotorLine makes them).
	MotorLines map[string]*Line
	// PWM is the PCA9685 on the I²C bus with its OE line PWMOE, and Haptic
	// the DRV2605L at 0x5A with its EN line HapticEN; nil until AddPCA9685
	// and AddDRV2605.
	PWM      *PCA9685
	PWMOE    *Line
	Haptic   *DRV2605
	HapticEN *Line

	rec      *OutputRecorder // nil: outputs are not recorded
	opts     HardwareOpts
	scenario *scenario.Scenario
	start    time.Time
	log      *slog.Logger
	occupied bool // what the oximeter model was last told
	// The sleeper's signals besides the pulse: a wander of the skin
	// temperature and a drift of the skin conductance on top of the
	// scenario's values, functions of the time since the start.
	tempWander, skinDrift func(time.Duration) float64
	// held are the lines a press holds Low, with when they are released
	// (scenario time); only Run's goroutine uses it.
	held map[*Line]time.Duration
	// eegOff and eegSat are the channels (bit n-1 for channel n) whose
	// electrode the EEG model was last told is off or saturated, and
	// eegPowered its supply; only Run's goroutine uses them.
	eegOff, eegSat scenario.Channels
	eegPowered     bool
}

// PressHold is how long a scenario's press holds its button down.
const PressHold = 200 * time.Millisecond

// FaultPeriod is how often Run applies the scenario's faults.
const FaultPeriod = 100 * time.Millisecond

// HardwareOpts place the simulated chips as the pod's configuration wires
// them.
type HardwareOpts struct {
	// SkinAddr and ThermoAddr are the ADS1115's and the TMP117's I²C
	// addresses: 0x49 and 0x48 when zero.
	SkinAddr, ThermoAddr uint16
	// SkinCircuit is the skin conductance divider; eda.DefaultDivider
	// when zero.
	SkinCircuit eda.Divider
	// AckPressHold is how long a scenario's ack press holds the
	// acknowledgement button down: longer than the pod's hold time, or the
	// press acknowledges nothing; DefaultAckPressHold when zero.
	AckPressHold time.Duration
}

// DefaultAckPressHold is HardwareOpts.AckPressHold when zero: a second
// more than the pod's default hold time (controller.DefaultAckHold, 3 s).
const DefaultAckPressHold = 4 * time.Second

// SkinRippleUS and SkinRipplePeriod are a small fast fluctuation of the
// simulated skin conductance on top of its minutes-long drift: real
// conductance wanders by more than the ADS1115's step within seconds, and a
// skin without it reads the same code for half a minute and more where the
// drift turns (one step of the pod's 4.096 V range is about 0.0006 µS at
// 4 µS, 0.005 µS at 20 µS), which the skin conductance estimator rightly
// takes for a stuck converter (flat).
const (
	SkinRippleUS     = 0.005
	SkinRipplePeriod = 20 * time.Second
)

// RoomC is the temperature a thermometer off the body reads, °C.
const RoomC = 22.0

// NewHardware builds the simulated pod for sc, with the scenario's clock
// starting at start and a strip of leds LEDs, its chips where
// HardwareOpts' defaults put them.
func NewHardware(sc *scenario.Scenario, leds int, start time.Time, log *slog.Logger) (*Hardware, error) {
	return NewHardwareWith(sc, leds, start, log, HardwareOpts{})
}

// NewHardwareWith is NewHardware with the chips placed by o.
func NewHardwareWith(sc *scenario.Scenario, leds int, start time.Time, log *slog.Logger, o HardwareOpts) (*Hardware, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.SkinAddr == 0 {
		o.SkinAddr = 0x49
	}
	if o.ThermoAddr == 0 {
		o.ThermoAddr = 0x48
	}
	if o.SkinCircuit == (eda.Divider{}) {
		o.SkinCircuit = eda.DefaultDivider
	}
	if o.AckPressHold <= 0 {
		o.AckPressHold = DefaultAckPressHold
	}
	if err := o.SkinCircuit.Validate(); err != nil {
		return nil, fmt.Errorf("sim.NewHardware: %w", err)
	}
	h := &Hardware{scenario: sc, start: start, log: log, opts: o}
	h.tempWander = SkinTempWander.Celsius()
	// The drift is about a tonic level of its own amplitude, taken off
	// again: SkinConductance never reads below 0 µS, and a drift about 0
	// would be cut off in its every negative half.
	const skinDriftUS = 0.05
	drift := SkinConductance{TonicUS: skinDriftUS, DriftUS: skinDriftUS, Seed: 1115}.Microsiemens()
	h.skinDrift = func(d time.Duration) float64 { return drift(d) - skinDriftUS }
	h.Oximeter = NewMAX30102(func(t time.Time) (float64, float64) {
		v := sc.VitalsAt(t.Sub(start))
		return v.HeartRateBPM, v.SpO2Pct
	}, 1)
	if pb := sc.Playback(scenario.DeviceMAX30102); pb != nil {
		h.Oximeter.SetRecording(ppgRecording(pb, func(t time.Time) float64 { return sc.VitalsAt(t.Sub(start)).SpO2Pct }, start))
	}
	sig, err := NewEEGSignal(EEGOpts{Bands: [EEGBands]float64{1, 1, 1, 1, 1, 1}, Seed: 1299, Start: start})
	if err != nil {
		return nil, fmt.Errorf("sim.NewHardware: %w", err)
	}
	sig.SetBandScale(func(t time.Time) [EEGBands]float64 {
		p := sc.VitalsAt(t.Sub(start)).EEG.Array()
		var g [EEGBands]float64
		for b := range g {
			g[b] = math.Sqrt(max(p[b], 0))
		}
		return g
	})
	h.eeg = sig
	h.DRDY = NewLine("SIM_DRDY", 25)
	h.EEG = NewADS1299(h.eegMicrovolts, h.DRDY)
	h.EEGPort = NewSPIPort("sim-spi-eeg", h.EEG)
	h.eegPowered = true
	h.Skin = NewADS1115(h.skinVolts)
	h.Thermo = NewTMP117(h.bodyCelsius)
	h.I2C = NewI2CBus("sim-i2c")
	for _, d := range []struct {
		addr uint16
		dev  Device
	}{{MAX30102Addr, h.Oximeter}, {o.SkinAddr, h.Skin}, {o.ThermoAddr, h.Thermo}} {
		if err := h.I2C.Attach(d.addr, d.dev); err != nil {
			return nil, fmt.Errorf("sim.NewHardware: %w", err)
		}
	}
	h.ConsentLine = NewLine("SIM_CONSENT", 17)
	h.PanicLine = NewLine("SIM_PANIC", 27)
	h.AckLine = NewLine("SIM_ACK", 22)
	h.held = map[*Line]time.Duration{}
	h.Strip = NewAPA102(leds)
	h.SPI = NewSPIPort("sim-spi", h.Strip)
	h.MotorLines = map[string]*Line{}
	h.setFaults(0)
	return h, nil
}

// MotorLine returns the simulated GPIO line of a vibration motor, made at
// its first use, numbered from 5 on.
func (h *Hardware) MotorLine(name string) *Line {
	if l, ok := h.MotorLines[name]; ok {
		return l
	}
	l := NewLine(name, 5+len(h.MotorLines))
	if h.rec != nil {
		l.Record(h.rec)
	}
	h.MotorLines[name] = l
	return l
}

// AddPCA9685 puts a PCA9685 on the I²C bus at addr, its OE pin on the
// line PWMOE (SIM_PCA9685_OE, number 6).
func (h *Hardware) AddPCA9685(addr uint16) error {
	oe := NewLine("SIM_PCA9685_OE", 6)
	m := NewPCA9685(oe)
	rec := func() {
		if h.rec != nil {
			h.rec.record(OutputFrame{Device: "pca9685", Duty: m.Duties()})
		}
	}
	if err := h.I2C.Attach(addr, recorded{m, rec}); err != nil {
		return err
	}
	oe.Watch(rec)
	h.PWM, h.PWMOE = m, oe
	return nil
}

// AddDRV2605 puts a DRV2605L on the I²C bus at its address, 0x5A, its EN
// pin on the line HapticEN (SIM_DRV2605_EN, number 13). The line reads High
// until the pod drives it, as a pull-up to VDD would hold it: a pod
// configured without the EN line finds the chip on, as a board with EN tied
// high would.
func (h *Hardware) AddDRV2605() error {
	en := NewLine("SIM_DRV2605_EN", 13)
	en.Set(gpio.High)
	m := NewDRV2605L(en)
	rec := func() {
		if h.rec != nil {
			x := m.Intensity()
			h.rec.record(OutputFrame{Device: "drv2605", Intensity: &x})
		}
	}
	if err := h.I2C.Attach(DRV2605Addr, recorded{m, rec}); err != nil {
		return err
	}
	en.Watch(rec)
	h.Haptic, h.HapticEN = m, en
	return nil
}

// recorded is a device whose outputs are recorded after each transfer.
type recorded struct {
	Device
	after func()
}

func (d recorded) Tx(w, r []byte) error {
	err := d.Device.Tx(w, r)
	d.after()
	return err
}

// Record sends what every simulated output shows to rec from now on (the
// strip as "strip", a motor line by its name); Run flushes it every
// FaultPeriod. Call it before the outputs are used; the caller closes rec
// after Run returned.
func (h *Hardware) Record(rec *OutputRecorder) {
	h.rec = rec
	h.Strip.Record(rec, "strip")
	for _, l := range h.MotorLines {
		l.Record(rec)
	}
}

// Run runs the EEG model (its DRDY edges, in a goroutine Run owns) and
// applies the scenario's faults and occupancy (a finger on the oximeter,
// electrodes on the skin, or not) and reports its presses until ctx is
// done.
func (h *Hardware) Run(ctx context.Context) error {
	var eeg sync.WaitGroup
	defer eeg.Wait()
	eeg.Go(func() { _ = h.EEG.Run(ctx) })
	t := time.NewTicker(FaultPeriod)
	defer t.Stop()
	prev := -time.Nanosecond // so a press at 0s is reported
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := time.Since(h.start)
		h.apply(prev, now)
		prev = now
		if h.rec != nil {
			if err := h.rec.Flush(); err != nil {
				h.log.Error("output record", "err", err)
			}
		}
	}
}

func (h *Hardware) setFaults(now time.Duration) {
	if occ := h.scenario.OccupiedAt(now); occ != h.occupied || now == 0 {
		h.occupied = occ
		h.Oximeter.SetFingerPresent(occ)
	}
	for _, d := range []struct {
		name string
		addr uint16
	}{{scenario.DeviceMAX30102, MAX30102Addr}, {scenario.DeviceADS1115, h.opts.SkinAddr}, {scenario.DeviceTMP117, h.opts.ThermoAddr}} {
		h.I2C.SetFault(d.addr, h.busFault(d.name, now))
	}
	sat := h.scenario.FaultAt(scenario.DeviceADS1115, now) == scenario.FaultSaturate
	h.Skin.Saturate(sat)
	h.Oximeter.SetSaturated(h.scenario.FaultAt(scenario.DeviceMAX30102, now) == scenario.FaultSaturate)
	h.SPI.SetFault(Fault(h.scenario.FaultAt(scenario.DeviceAPA102, now)))
	h.setEEGFaults(now)
}

// setEEGFaults applies the EEG's faults of now: a bus fault on its port (a
// disconnect also cuts its supply: no DRDY, MISO low; back on, the chip
// is reset and must be configured again), electrodes off (the scenario's
// lead_off channels, and every channel while no one lies in the pod), and
// saturated channels.
func (h *Hardware) setEEGFaults(now time.Duration) {
	bus := h.busFault(scenario.DeviceADS1299, now)
	h.EEGPort.SetFault(bus)
	if powered := bus != FaultDisconnect; powered != h.eegPowered {
		h.eegPowered = powered
		h.EEG.SetPowered(powered)
	}
	var off, sat scenario.Channels
	switch h.scenario.FaultAt(scenario.DeviceADS1299, now) {
	case scenario.FaultLeadOff:
		off = h.scenario.LeadOffAt(now)
	case scenario.FaultSaturate:
		sat = scenario.AllChannels
	}
	if !h.occupied {
		off = scenario.AllChannels
	}
	for ch := 1; ch <= scenario.NumChannels; ch++ {
		if off.Has(ch) != h.eegOff.Has(ch) {
			_ = h.EEG.SetLeadOff(ch, off.Has(ch)) // ch is 1..8
		}
		if sat.Has(ch) != h.eegSat.Has(ch) {
			_ = h.EEG.SetSaturated(ch, sat.Has(ch))
		}
	}
	h.eegOff, h.eegSat = off, sat
}

// eegArtefactSpan is how far back eegMicrovolts looks for a blink or a
// movement still under way: an artefact lasting longer is cut short.
const eegArtefactSpan = 30 * time.Second

// eegMicrovolts is EEG channel ch (1..8) at t, µV: the recording's column
// for ch, or for a channel it does not have (or without a recording) the
// scenario's bands; with the scenario's blinks (frontal channels 1 and 2,
// a 150 µV raised cosine over the blink) and movements (every channel,
// 400 µV swings at 2 Hz under a Hann window) on top.
func (h *Hardware) eegMicrovolts(t time.Time, ch int) float64 {
	d := t.Sub(h.start)
	var v float64
	if pb := h.scenario.Playback(scenario.DeviceADS1299); pb != nil && pb.Has(ch-1) {
		s, _ := pb.At(d)
		v = s[ch-1]
	} else {
		v = h.eeg.At(t, ch)
	}
	for ev := range h.scenario.EventsBetween(d-eegArtefactSpan, d).All() {
		if ev.For <= 0 || d > ev.At+ev.For {
			continue
		}
		x := float64(d-ev.At) / float64(ev.For)
		w := (1 - math.Cos(2*math.Pi*x)) / 2
		switch ev.Kind {
		case scenario.EventBlink:
			if ch <= 2 {
				v += 150 * w
			}
		case scenario.EventMovement:
			v += 400 * w * math.Sin(2*math.Pi*2*(d-ev.At).Seconds()+float64(ch))
		}
	}
	return v
}

// busFault is the bus fault of a device at now: the scenario's nack, stuck
// or disconnect, or a disconnect once its recording has ended.
func (h *Hardware) busFault(device string, now time.Duration) Fault {
	switch f := h.scenario.FaultAt(device, now); f {
	case scenario.FaultNACK, scenario.FaultStuck, scenario.FaultDisconnect:
		return Fault(f)
	}
	if pb := h.scenario.Playback(device); pb != nil && !pb.Loop() && now > pb.End() {
		return FaultDisconnect
	}
	return FaultNone
}

// SkinTempWander is the slow wander of the sleeper's skin temperature the
// thermometer reads on top of the scenario's body_temp_c (at most
// 0.05 °C): part of the sleeper's own signal, which a test that times a
// crossing of a temperature limit must count.
var SkinTempWander = BodyTemperature{WanderC: 0.05, Seed: 117}

// bodyCelsius is what the thermometer reads at t: the recording's
// temperature, or the scenario's with a slow wander; the room's when no
// one lies in the pod.
func (h *Hardware) bodyCelsius(t time.Time) float64 {
	d := t.Sub(h.start)
	if pb := h.scenario.Playback(scenario.DeviceTMP117); pb != nil {
		s, _ := pb.At(d)
		return s[scenario.PlaybackTempC]
	}
	if !h.scenario.OccupiedAt(d) {
		return RoomC
	}
	return h.scenario.VitalsAt(d).BodyTempC + h.tempWander(d)
}

// skinVolts is the voltage across the skin at t: the divider's for the
// recording's conductance, or the scenario's tonic level with a slow drift,
// a ripple (SkinRippleUS) and its scr events' responses; the supply's (an
// open circuit) when no one lies in the pod.
func (h *Hardware) skinVolts(t time.Time) float64 {
	d := t.Sub(h.start)
	if pb := h.scenario.Playback(scenario.DeviceADS1115); pb != nil {
		s, _ := pb.At(d)
		return h.opts.SkinCircuit.Volts(s[scenario.PlaybackEDAUS])
	}
	if !h.scenario.OccupiedAt(d) {
		return h.opts.SkinCircuit.Volts(0)
	}
	us := h.scenario.VitalsAt(d).SkinConductanceUS + h.skinDrift(d) + SkinRippleUS*math.Sin(2*math.Pi*d.Seconds()/SkinRipplePeriod.Seconds())
	for ev := range h.scenario.EventsBetween(d-scrSpan, d).All() {
		if ev.Kind == scenario.EventSCR {
			us += ev.AmplitudeUS * scrShape((d - ev.At).Seconds())
		}
	}
	return h.opts.SkinCircuit.Volts(us)
}

// apply sets the faults and occupancy of now, releases the buttons whose
// press has lasted its hold (PressHold; AckPressHold for the
// acknowledgement button), and presses those of the presses in (prev, now].
func (h *Hardware) apply(prev, now time.Duration) {
	h.setFaults(now)
	for l, until := range h.held {
		if now >= until {
			l.Set(gpio.High)
			delete(h.held, l)
		}
	}
	for _, p := range h.scenario.PressesBetween(prev, now) {
		l, hold := h.ConsentLine, PressHold
		switch p {
		case scenario.PressPanic:
			l = h.PanicLine
		case scenario.PressAck:
			l, hold = h.AckLine, h.opts.AckPressHold
		}
		h.log.Info("simulated press", "button", p, "at", now, "hold", hold)
		l.Set(gpio.Low)
		h.held[l] = now + hold
	}
}
