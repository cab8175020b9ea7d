package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// explainDialError says what a failed call to podd's socket means and what
// to do: a file that is not a socket, podd not running, a socket the user
// may not open. Other errors, and nil, are returned as they are.
func explainDialError(socket string, err error) error {
	if err == nil {
		return nil
	}
	if fi, serr := os.Stat(socket); serr == nil && fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s is not a socket: podd cannot serve its API there (remove the file, or fix api.socket in podd's configuration); podd keeps watching the sleeper meanwhile", socket)
	}
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("podd is not running, or not on %s (--socket or PODCTL_SOCKET): %w", socket, err)
	}
	if errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("%w\n%s", err, socketAccessHint(socket))
	}
	return err
}

// socketAccessHint says how a user who may not open podd's socket (mode
// 0660, group podd) gets access.
func socketAccessHint(socket string) string {
	return fmt.Sprintf("you may not open %s: it is for root and the podd group; "+
		"add yourself to the podd group: sudo usermod -aG podd $USER, then log in again; or use sudo", socket)
}
