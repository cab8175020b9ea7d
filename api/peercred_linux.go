package api

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// peerCred returns the uid and pid of the process at the other end of c,
// as the kernel recorded them when it connected (SO_PEERCRED): what the
// process is, not what it says.
func peerCred(c *net.UnixConn) (uid uint32, pid int32, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, fmt.Errorf("api: peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, 0, fmt.Errorf("api: peer credentials: %w", err)
	}
	if serr != nil {
		return 0, 0, fmt.Errorf("api: peer credentials: SO_PEERCRED: %w", serr)
	}
	return cred.Uid, cred.Pid, nil
}
