// Package apa102 drives a strip of APA102 or SK9822 RGB LEDs over SPI: the
// pod's dreamscape lighting.
//
// It owns the strip's wire protocol and its safe state (every LED one steady safe colour, dark unless
// configured, on both chips), not the SPI port, which the application opens and closes, and
// not what is shown or how fast it changes, which is for the dreamscape
// player and its photosensitivity guard.
//
// Colours are dimmed through the 8-bit colour values at full 5-bit global
// brightness: the global brightness PWM runs at about 580 Hz, a visible
// flicker risk, while the colour PWM runs at about 19 kHz.
//
// SK9822 clones show a frame only when the next start frame reaches them, so
// every frame is followed by one more start frame; without it a clone keeps
// its last colours after the dark safe-state frame.
//
// Datasheet: https://cdn-shop.adafruit.com/datasheets/APA102.pdf
// SK9822 differences: https://cpldcpu.com/2016/12/13/sk9822-a-clone-of-the-apa102/
package apa102
