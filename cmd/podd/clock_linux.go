package main

import "golang.org/x/sys/unix"

// clockSynced reports whether the kernel says wall time is synchronised
// (NTP or similar cleared STA_UNSYNC). A Raspberry Pi boots at 1970 until then.
func clockSynced() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false
	}
	return state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
}
