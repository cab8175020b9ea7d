// Package ads1299 drives Texas Instruments' ADS1299 eight-channel, 24-bit
// biopotential front end (EEG) over SPI, paced by its DRDY line.
//
// It owns the chip's command and register protocol: a WAKEUP (a chip left in
// standby takes no other command) and a RESET, leaving the
// read-data-continuous mode the chip wakes in (SDATAC) so that registers can
// be accessed, checking the ID, writing the configuration and reading it
// back, then starting conversions and streaming them (START, RDATAC); Halt
// stops them and puts the chip in standby, Restart runs the start-up again
// (after a power loss: Read returns ErrNoDRDY). It
// takes an SPI port and a GPIO line it does not own and never opens or
// closes them; it starts no goroutine: the caller calls Read at the
// conversion rate, each call waiting for DRDY.
//
// Configuration. CONFIG1 sets the rate (0x96 250 sps, 0x95 500 sps); CONFIG3
// 0xEC powers the internal 4.5 V reference and the bias buffer; each enabled
// channel's CHnSET has the gain and the normal electrode input (its INnP
// against its INnN; SRB1/SRB2 referencing and the bias derivation are left
// at their reset values), the others are powered down with their inputs
// shorted (0x81), as the datasheet recommends for unused channels. With
// Opts.LeadOff, DC lead-off detection is on for the enabled channels: LOFF
// 0x00 (6 nA current sources, comparator thresholds 95 % / 5 %),
// LOFF_SENSP/N the enabled channels, and CONFIG4's PD_LOFF_COMP (0x02),
// without which the comparators, and so LOFF_STATP/N, stay off. Each block
// is written with one WREG and read back with one RREG; a value that did
// not stick is an error naming the register (a chip that did not take its
// configuration, or a bus that does not carry it).
//
// Reading. In RDATAC the chip loads each conversion into its output register
// and pulls DRDY low; Read waits for that falling edge, then clocks the
// 27-byte frame out in one SPI transaction (24 status bits, then 8 channels
// of 24-bit two's complement, MSB first). A frame that is not read before
// the next conversion is overwritten, as on the chip: Read always returns
// the newest one. Two things keep a frame from being returned twice. The
// edge queue of a GPIO line may hold edges of conversions already read (a
// reader that came late, then read the newest data); Read takes an edge as
// new data only while DRDY is still low (the chip raises it on the first
// SCLK of a read, and a conversion not read keeps it low until just before
// the next one), and waits on otherwise. And the receive buffer is cleared
// before each read, so a bus that clocks nothing in reads as zeros, whose
// status nibble (0x0, not 0xC) is refused with ErrBadStatus, as is a
// floating MISO (0xF) or a frame read out of step.
//
// Frame.Skipped counts the conversions overwritten before the one read. The
// chip does not number its conversions, so it is estimated on a grid of
// conversion times: the first read's time, moved on by whole periods;
// moved back to any read that comes earlier in its period than every one
// before (the grid keeps the least latency seen); and moved on to half a
// period behind any read that comes later than that (a chip whose
// oscillator runs slow, ±2.5 % over temperature, drifts from the nominal
// grid). A read is of conversion floor((t − grid)/period + 0.1): exact
// while reads come within about half a period of the least latency seen;
// a read later than that may count one too many, once, and one more than
// a tenth of a period earlier than every read before it one too few,
// once. A frame lost to a failed Read counts as skipped.
//
// Timing. Each byte of a multi-byte command needs 4 tCLK (1.96 µs at
// 2.048 MHz) to decode, so the SCLK is at most 4 MHz (no inter-byte delays
// are inserted); it is at least the rate's minimum, for a frame to be read
// within one conversion period: tSCLK < (tDR − 4 tCLK) / 216 bits (108 kHz
// at 500 sps). The chip must have been powered (tPOR, about 128 ms) before
// New; after RESET New waits 18 tCLK. The first conversions after New carry
// the internal reference's settling: a consumer discards its first second.
//
// Datasheet: https://www.ti.com/lit/ds/symlink/ads1299.pdf (SBAS499); opcodes
// and register values as in ../shared/FACTS.md "TI ADS1299" and OpenBCI's
// OpenBCI_32bit_Library_Definitions.h.
package ads1299
