// Package doctor owns the technician's checks of a pod: podctl's doctor
// (is the pod ready: configuration, bus device nodes, chips, GPIO lines,
// broker, clock, disk, store, API socket), scan (which chips answer on a
// bus, by their ID registers) and the sensors' self-test. It decides how
// each check is made and judged; podctl only prints the results. It must
// not touch a bus, a line or a store that podd holds, and it never writes
// to a chip it has not identified.
//
// # Running podd or not
//
// podd owns the buses, the GPIO lines and the store while it runs. So
// every check first asks podd's API (Pod.Status): when podd answers, the
// chips are judged by the health podd reports of its sensors, the store by
// podd's parts and latch, and no bus is opened; when podd is not running
// (no socket, or nobody listening on it), the checks open the hardware
// themselves (Hardware: the real buses through periph, or the simulator's
// models in hardware.mode sim); when the socket answers with an error
// (permission denied, a hung podd), nothing is opened and the checks that
// would need the buses are skipped with the reason.
//
// A silent socket is not yet a stopped podd: one starting holds its run
// lock (journal.HoldRunLock) before it opens a bus. The checks that drive
// the hardware of a stopped podd claim that lock exclusively first, for
// as long as the hardware is open (claimHardware, journal.ClaimHardware):
// the check that podd is stopped and the claim are one step, and a podd
// that systemd starts meanwhile waits for the checks (at most
// journal.ToolWait) rather than configuring the same chips under them.
//
// # Identifying chips without writing to them
//
// Probing is read-only: a transfer writes only a register address, then
// reads. Each chip is told by registers no driver of this pod changes:
// the MAX30102 by PART_ID (0xFF = 0x15), the TMP117 by Device_ID (0x0F,
// 0x0117 in bits 11:0), the DRV2605L by STATUS's DEVICE_ID (7). The
// ADS1115 and the PCA9685 have no ID register: the ADS1115 is told by its
// threshold registers at their reset values (Lo_thresh 0x8000, Hi_thresh
// 0x7FFF; the pod's driver disables the comparator and leaves them), the
// PCA9685 by its sub-addresses at theirs (SUBADR1-3 0xE2, 0xE4, 0xE8,
// ALLCALLADR 0xE0). At 0x48-0x4B, where the TMP117 and the ADS1115 share
// addresses, the ADS1115's registers are read first: its address pointer
// has two bits, so the TMP117's Device_ID address (0x0F) is written only
// to a chip that is not an ADS1115 at reset. The ADS1299 on SPI is asked
// its ID register with SDATAC then RREG, which stop its conversions and
// change no register. (Addresses and registers: the datasheets, as
// FACTS.md gathers them.)
//
// # Faults injected by tests
//
// The operating system is reached through System (a root directory for
// the device nodes, statfs, the kernel clock's state, the clock, a
// dialer) and the hardware through Hardware, so tests can remove a device
// node, fill a disk, stop the clock's synchronisation or change a chip's
// ID in the simulator without root.
package doctor
