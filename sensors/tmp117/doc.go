// Package tmp117 drives Texas Instruments' TMP117, a ±0.1 °C digital
// temperature sensor, over I²C, for the sleeper's body temperature.
//
// It owns the chip's register protocol: checking Device_ID, configuring
// continuous conversions (averaging and cycle time), reading results with
// their freshness, and putting the chip in shutdown. It takes a bus it does
// not own and starts no goroutine: the caller polls Read at its own pace,
// best at least once a conversion cycle.
//
// # Freshness
//
// The chip sets Configuration's Data_Ready when a conversion ends and clears
// it when Configuration or Temp_Result is read. Read reads Configuration,
// then Temp_Result (the chip does not auto-increment, so they are two
// transactions): the result is fresh only if Data_Ready was set, so the
// driver never reports a value twice as new. A conversion that ends between
// the two reads is returned as not fresh (its Data_Ready is cleared by the
// read of Temp_Result): one result a cycle may lose its freshness, never
// gain one. Temp_Result reads 0x8000 (−256 °C) until the first conversion
// after power-up: Read returns ErrNoConversion for it, never a temperature.
// Data_Ready set again sooner than half a conversion cycle after the last
// fresh result cannot come from a working chip (each conversion takes the
// cycle): Read reports it as ErrDataReadyTooSoon, as a bus that replays old
// answers would make it.
//
// A Configuration that no longer holds what New wrote (a chip reset by a
// brown-out, or reconfigured by someone else) is an error: the caller
// should call New again.
//
// Datasheet: https://www.ti.com/lit/ds/symlink/tmp117.pdf (registers:
// section 7.6; conversion cycle times: table 7-7).
package tmp117
