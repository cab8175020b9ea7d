// Package max30102 drives Analog Devices' (formerly Maxim's) MAX30102 pulse
// oximeter and heart-rate sensor over I²C.
//
// It owns the chip's register protocol: checking the part ID, resetting and
// configuring the chip in SpO2 mode (red and IR), draining its 32-sample FIFO
// and reporting samples lost to an overflow, and putting it in shutdown. It
// takes a bus it does not own and never opens or closes one; it starts no
// goroutine: the caller polls ReadFIFO at its own pace and turns the samples
// into vital signs with package vitals. It must poll well within 32 samples
// (1.28 s at the default 25 Hz): a FIFO that has just filled has equal read
// and write pointers and reads as empty until its first overflow.
//
// Datasheet: https://www.analog.com/media/en/technical-documentation/data-sheets/MAX30102.pdf
package max30102
