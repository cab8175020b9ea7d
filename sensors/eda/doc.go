// Package eda turns the voltage of a skin-conductance (electrodermal
// activity) measuring circuit into the skin's conductance in microsiemens.
//
// It owns the circuit's physics and nothing else: it reads no bus (package
// ads1115 measures the voltage) and keeps no state. It is a package of its
// own, not part of the ADC's driver, because the circuit does not depend on
// the converter that reads it, and the simulator needs its inverse (from a
// sleeper's conductance to the voltage the ADC sees) without a driver.
//
// # The circuit
//
// A voltage divider: a constant supply Vs drives a reference resistor Rref
// in series with the skin between two electrodes; the ADC reads the voltage
// V across the skin (electrode to ground):
//
//	Vs ── Rref ──┬── skin ── GND
//	             └── ADC input (V)
//
//	V = Vs · Rskin / (Rref + Rskin)
//	G = 1 / Rskin = (Vs − V) / (Rref · V)           siemens
//	G_µS = 10⁶ · (Vs − V) / (Rref · V)
//
// The divider is most sensitive where Rskin = Rref (V = Vs/2): Rref = 200 kΩ
// centres it on 5 µS, in the middle of the usual range of skin conductance
// levels (about 2 to 20 µS; W. Boucsein, Electrodermal Activity, 2nd ed.,
// Springer 2012).
//
// No contact leaves the skin's side open: no current flows, V rises to Vs and
// G to 0. Electrodes bridged by a conductor (a short) pull V to 0 and G to
// infinity. Conductance reports both as errors, with MinMicrosiemens and
// MaxMicrosiemens as the limits of skin: outside them the reading is the
// circuit's, not the sleeper's.
package eda
