// Package ads1115 drives Texas Instruments' ADS1115, a 16-bit, 4-channel
// delta-sigma ADC, over I²C, in single-shot mode.
//
// It owns the chip's register protocol: identifying it, starting one
// conversion of one single-ended input (AIN0 to AIN3 against GND), waiting
// for it, and reading the result in volts; and leaving the chip powered down.
// It takes a bus it does not own and starts no goroutine: the caller polls
// Read at its own pace. Turning volts into skin conductance is package eda's.
//
// # Identification
//
// The ADS1115 has no ID register. New writes a distinctive configuration
// (every field but MODE away from its reset value, no conversion started,
// power-down single-shot mode) and reads it back: an ADS1115 returns the 15
// bits below OS as written. That tells apart a chip that is absent (a NACK),
// a TMP117 (its Configuration has read-only flags and a reserved bit, and it
// answers Device_ID 0x0117 at pointer 0x0F: New then names it) and most other
// chips. It cannot tell an ADS1115 from an ADS1015 (the same register map; it
// left-justifies 12-bit codes, so its volts come out right at a sixteenth of
// the resolution, and its data-rate codes mean other rates), nor from another
// device whose register at pointer 1 keeps 15 bits as written. New then
// writes opts's configuration and reads it back.
//
// # A conversion
//
// Read writes Config with OS = 1 (start), MODE = 1 (single shot), the input,
// the PGA range and the data rate, and COMP_QUE = 11 (comparator off, ALERT/RDY
// high-impedance). It polls Config at once, then after one conversion time
// (1/DR), then every eighth of it, until OS reads 1 (not converting); after
// two conversion times it gives up (the internal oscillator is within ±10 %).
// OS reads 0 from the start of a conversion (Adafruit_ADS1X15's readADC
// relies on it: it polls right after the start), so OS at 1 at the first
// poll, sooner than half a conversion time after the start, means that no
// conversion was made for this Read: a chip that ignored the start, or a bus
// that replays old answers. Read reports it (ErrDoneTooSoon) rather than an
// old result as a new one. A first poll delayed past half a conversion time
// is not checked: the check never blames a working chip, and may miss a
// stuck one. Then Read reads the Conversion register: a two's complement
// code, LSB = FSR / 32768. A code of 32767 or −32768 is the converter at full
// scale: the input is at or beyond
// it and the true value is unknown (ErrSaturated).
//
// The PGA sets the full-scale range only: an input must stay between GND −
// 0.3 V and VDD + 0.3 V whatever the range (datasheet, "Absolute Maximum
// Ratings"), so ±6.144 V reads at most VDD.
//
// Datasheet: https://www.ti.com/lit/ds/symlink/ads1115.pdf (registers and
// config bits: section 9.6; Adafruit_ADS1X15's Adafruit_ADS1X15.h agrees).
package ads1115
