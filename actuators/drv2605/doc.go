// Package drv2605 drives Texas Instruments' DRV2605L haptic driver over I²C
// (fixed address 0x5A): one vibration motor, an ERM or an LRA, played in
// real-time playback (RTP) so the pod's haptic patterns are the software's
// and not the chip's ROM effects.
//
// It owns the chip's register protocol: checking DEVICE_ID, configuring the
// motor and its hardware intensity cap, setting the drive, reading the
// over-temperature and over-current flags, and the safe state. It takes a bus
// it does not own and starts no goroutine. What is played, and for how long,
// is for the dreamscape player and its haptic guard.
//
// # Open loop and the RTP format
//
// The chip is run open loop (CONTROL3 ERM_OPEN_LOOP, and LRA_OPEN_LOOP for an
// LRA). In open loop OD_CLAMP (0x17) is the full-scale reference: RTP_INPUT's
// full scale drives the motor at exactly the OD_CLAMP voltage and never more,
// so OD_CLAMP is a cap the chip enforces whatever RTP_INPUT says. In closed
// loop RATED_VOLTAGE would be the full scale, OD_CLAMP only bounding the
// automatic overdrive, and the loop needs an auto-calibration with the motor
// attached (A_CAL_COMP, A_CAL_BEMF) that this driver does not run. An open
// loop LRA is driven at OL_LRA_PERIOD (0x20, 98.46 µs a step) from
// Opts.LRAFrequency rather than tracking its resonance.
//
// RTP_INPUT's format is set explicitly to signed (CONTROL3 DATA_FORMAT_RTP
// 0). In open loop the unsigned format puts zero drive at mid-scale, 0x7F,
// and reads 0x00 as full reverse drive: a zeroed RTP_INPUT would brake the
// motor at full strength. Signed, 0x00 is no drive and 0x7F full scale;
// the driver never writes a negative value, so the motor never reverses.
// SetIntensity(x) writes round(127 × x): 127 steps from still to the cap.
//
// # Intensity cap
//
// OD_CLAMP = floor(MaxIntensity × RatedVoltage / step), 1 to 255, where the
// step is the full-scale open-loop drive per OD_CLAMP code:
//
//	ERM, average volts:  V = 21.59 mV × OD_CLAMP                          (eq. 6)
//	LRA, RMS volts:      V = 21.32 mV × OD_CLAMP × sqrt(1 − f × 800 µs)   (eq. 7)
//
// with f the LRA's drive frequency in Hz. Rounding down keeps the cap at or
// below what was asked. A 3 V ERM at MaxIntensity 1 gets OD_CLAMP 138
// (2.979 V); at 0.5, 69 (1.490 V). The chip's output also never exceeds
// its supply (VDD, 2 to 5.2 V).
//
// # Safe state, two paths
//
// The chip shares its I²C bus with the sensors, so a bus that NACKs or
// hangs (a device holding SDA, a stretched clock, a loose cable) must not
// keep the motor driven. With Opts.EN, the GPIO line wired to the chip's EN
// pin, Halt has a second path that needs no bus: it drives EN low first,
// under its own small mutex and never the bus mutex, so a SetIntensity hung
// on the bus does not delay it. With EN low the chip is shut down, its
// output stage off; the data sheet says the registers can then be neither
// read nor written (the chip may still acknowledge). Then Halt writes
// RTP_INPUT 0 and MODE 0x40 (STANDBY: the output stage off), attempting
// both whatever the first returned, once a transfer in progress has ended.
// Those writes are the only path for a chip whose EN is tied to VDD, and a
// second one should EN fail to move; TI's forum reports parts that take
// writes with EN low, so they are not wasted either way.
//
// Halt returns nil once EN went low, whatever the bus did: the motor is
// still, and the gate (actuators.Gate.Unsafe, keepSafe) would otherwise hold
// a safe output as unsafe and retry it forever. Those bus errors are
// reported nowhere; a bus still failing shows at the next SetIntensity or
// Status. Without EN, or when its write failed, Halt returns every error,
// joined.
//
// Halt latches: SetIntensity returns ErrHalted until Resume, so a value
// computed before an abort cannot restart the motor after it. Resume
// (actuators.Resumer) must not block and does not raise EN: the data sheet
// does not say whether the registers survive EN low, and a chip that kept
// RTP mode and a drive (Halt's writes ignored while EN was low) would play
// it as soon as EN rose. So the next SetIntensity raises EN, waits Startup
// (250 µs, the data sheet's start-up time), and runs New's configuration
// sequence (MODE 0x00 first, which plays nothing; read-back included) before
// it plays; if that fails it writes STANDBY and drives EN low again. The
// chip drives nothing between EN rising and that first write unless it kept
// its registers, and then at most under the cap it kept. Writing the whole
// configuration again also covers a chip reset while halted (EN low, a
// brown-out), which comes back with OD_CLAMP at its default, not the cap.
// Without EN the chip stays in standby until that SetIntensity. A mutex
// serialises bus use, so Halt's writes follow a SetIntensity in progress
// (one transfer, or up to 15 when it wakes the chip).
//
// Status reads STATUS and MODE: OVER_TEMP and OC_DETECT come back as a Status
// and as ErrOverTemp / ErrOverCurrent, and MODE in standby without a Halt is
// a reset chip (ErrReset), which the next SetIntensity configures anew.
//
// # Sources
//
// DRV2605L data sheet, SLOS854D (https://www.ti.com/lit/ds/symlink/drv2605l.pdf):
// "Register Map" (STATUS DEVICE_ID 7, OVER_TEMP bit 1, OC_DETECT bit 0;
// MODE STANDBY bit 6, MODE[2:0] 5 = RTP; LIBRARY_SEL 1 to 5 ERM libraries
// A to E, 6 LRA; FEEDBACK N_ERM_LRA bit 7; CONTROL3 NG_THRESH 7:6,
// ERM_OPEN_LOOP 5, DATA_FORMAT_RTP 3, LRA_OPEN_LOOP 0; OL_LRA_PERIOD
// 98.46 µs a step), "Data Formats for Waveform Playback, Open-Loop Mode"
// (RTP's signed and unsigned mapping) and "Overdrive Voltage-Clamp
// Programming" (equations 6 and 7). The older DRV2605's data sheet (SLOS825B) gives the
// open-loop LRA formula in the same form with 5.44 V / 255 (21.33 mV) a step,
// and states that OD_CLAMP is the peak voltage allowed in every mode.
// "Operation With EN Control" (EN must be high to write the registers;
// with EN low the chip may acknowledge but no read or write is possible)
// and "Initialization Procedure" (wait 250 µs after power-up before I²C;
// EN may rise during or after that wait). TI's DRV2605 Setup Guide
// (SLOA189, "Device Startup and Power"): after EN rises the chip runs a
// 250 µs start-up sequence and enters standby. TI E2E forum threads 1174173
// and 1180260 report parts that still take I²C writes with EN low.
// Register addresses agree with adafruit/Adafruit_DRV2605_Library
// (Adafruit_DRV2605.h).
package drv2605
