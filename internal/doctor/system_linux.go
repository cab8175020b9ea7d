package doctor

import "golang.org/x/sys/unix"

func statfs(path string) (Space, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return Space{}, err
	}
	bs := uint64(st.Bsize)
	return Space{Available: uint64(st.Bavail) * bs, Total: uint64(st.Blocks) * bs}, nil
}

// clockSynced is what podd reports as clock_synced: adjtimex's state is
// not TIME_ERROR and STA_UNSYNC is clear.
func clockSynced() (bool, error) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false, err
	}
	return state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0, nil
}
