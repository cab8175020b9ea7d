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
//	ERM, average volts:  V = 21.59 mV × OD_CLAMP                          (eq. 4)
//	LRA, RMS volts:      V = 21.32 mV × OD_CLAMP × sqrt(1 − f × 800 µs)   (eq. 5)
//
// with f the LRA's drive frequency in Hz. Rounding down keeps the cap at or
// below what was asked. A 3 V ERM at MaxIntensity 1 gets OD_CLAMP 138
// (2.979 V); at 0.5, 69 (1.490 V). The chip's output also never exceeds
// its supply (VDD, 2 to 5.2 V).
//
// # Safe state
//
// Halt writes RTP_INPUT 0, then MODE 0x40 (STANDBY: the output stage off),
// attempting both whatever the first returned, and latches: SetIntensity
// returns ErrHalted until Resume, so a value computed before an abort cannot
// restart the motor after it. Resume (actuators.Resumer) must not block, so it
// only lifts the latch; the chip stays in standby, drawing its standby
// current, until the next SetIntensity, which runs New's configuration
// sequence again (read-back included) before it plays. Writing the whole
// configuration again on waking matters: a chip reset while in standby (a
// brown-out) comes back with OD_CLAMP at its default, not the cap. A mutex
// serialises bus use, so a Halt during a SetIntensity waits for that call's
// transfers (one, or up to 15 when it wakes the chip) and then wins.
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
// (RTP's signed and unsigned mapping) and "Rated Voltage Programming"
// (equations 4 and 5). The older DRV2605's data sheet (SLOS825B) gives the
// open-loop LRA formula in the same form with 5.44 V / 255 (21.33 mV) a step,
// and states that OD_CLAMP is the peak voltage allowed in every mode.
// Register addresses agree with adafruit/Adafruit_DRV2605_Library
// (Adafruit_DRV2605.h).
package drv2605
