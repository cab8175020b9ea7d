// Package pca9685 drives NXP's PCA9685, a 16-channel, 12-bit PWM controller
// on I²C, for the pod's plain LED channels.
//
// It owns the chip's register protocol, its PWM frequency and its safe state
// (every channel off), not the I²C bus nor the OE line, which the
// application opens and closes, and not what is shown or how fast it
// changes, which is for the dreamscape player and its photosensitivity
// guard.
//
// # Opening the chip
//
// New first drives OE high (outputs off by hardware), then writes
// ALL_LED_OFF_H's full-off bit: whatever a previous run left in the
// channels, none lights when OE goes low again. It puts the chip to sleep
// (PRE_SCALE can be written only while MODE1's SLEEP is set), writes
// PRE_SCALE and MODE2, wakes the chip, waits the 500 µs the oscillator needs
// before MODE1's RESTART may be written, then writes RESTART (clearing any
// restart pending) with AI, auto-increment, so that a channel's four
// registers, or all 16 channels, go in one write. Every write of New is one
// register, so it works whatever AI a previous run left. MODE1 is written
// with ALLCALL clear: the chip answers its own address only.
//
// The chip has no identification register. New reads MODE1, MODE2 and
// PRE_SCALE back and refuses a chip that does not hold what was written:
// that read-back is the check that a PCA9685 answers at the address (a bus
// that answers anything else, all ones or a repeated byte, fails it), and
// it finds a chip left on an external clock (MODE1's EXTCLK, which only a
// power cycle clears), on which the frequency would be wrong.
//
// # Frequency and duty
//
// PRE_SCALE = round(25 MHz / (4096 × f)) − 1 (data sheet, equation 1),
// computed in integers with halves rounded up. Frequencies from 24 Hz to
// 1526 Hz are accepted (PRE_SCALE 253 to 3, the chip's range 3..255); the
// frequency the chip then runs at is Dev.Frequency. The default, 1 kHz
// (PRE_SCALE 5, 1017 Hz), is far above what the eye sees flicker at.
//
// A duty d, 0..1 of full scale, is rounded to n = round(4096 d) counts: n = 0
// sets the channel's full-off bit, n = 4096 its full-on bit (and clears
// full off), else the channel turns on at count 0 and off at count n. MODE2
// keeps OCH clear, so the outputs change at the I²C STOP: the 16 channels of
// SetAll change together.
//
// MODE2's OUTNE is chosen so that OE high puts every output where a duty of
// 0 puts it: low when not inverted (OUTNE 00), high, or high-impedance when
// open-drain, when inverted (OUTNE 01). The kill line therefore means off
// for every wiring Invert and OpenDrain describe.
//
// # Safe state, two paths
//
// Halt reaches the safe state by two independent paths: it drives OE high
// (the hardware kill line, a GPIO write that needs no I²C), then writes
// ALL_LED_OFF_H's full-off bit. Both are attempted whatever the other
// gives, and their errors are joined. OE is driven before the bus mutex is
// taken: a Set hung on a stuck bus holds that mutex, and it cannot delay
// the kill line; the I²C write follows when the bus returns.
//
// Halt latches: Set and SetAll return ErrHalted until Resume, so a value
// computed before an abort cannot relight a channel after it. Resume never
// touches the bus and never waits for it (actuators.Resumer): it takes only
// the small lock that orders OE writes, which no one holds across a bus
// transfer. It drives OE low again only when the channels are known off:
// the last write that reached the chip was a full-off write that succeeded
// (New's or Halt's), and none has been attempted since. When Halt's I²C
// write failed, OE stays high after Resume; the next Set or SetAll then
// writes full off to every channel first, and lowers OE only once that
// succeeded, then writes its own values. With no OE line (Opts.OE nil)
// Halt has the I²C path alone.
//
// A brown-out resets the chip to SLEEP, which stops every output: a safe
// state, but the driver does not notice it (no periodic read-back is
// made); open it again with New.
//
// Data sheet: https://www.nxp.com/docs/en/data-sheet/PCA9685.pdf (Rev. 4:
// register map table 4, MODE1 table 5, MODE2 table 6, channel registers
// table 7 and section 7.3.3, PRE_SCALE section 7.3.5, restart section
// 7.3.1.1, OE section 7.4 and table 10).
package pca9685
