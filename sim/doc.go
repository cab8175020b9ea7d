// Package sim is the pod's simulated hardware: an I²C bus and an SPI port that
// implement periph's i2c.Bus and spi.Port, hosting register-level device
// models, and the simulated sleeper whose physiology the models report.
//
// The pod's real drivers run unchanged on these buses. A model answers the
// same register reads and writes as its chip; faults from the scenario
// (a NACK, a stuck value, a device that disappears) are injected at the bus,
// where the driver would see them on real hardware.
//
// The package owns no goroutine except Hardware.Run, which applies the
// scenario's timeline, and ADS1299.Run, which pulses the EEG front end's
// DRDY line at each conversion; both stop with their context.
package sim
