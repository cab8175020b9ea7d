package main

import "fmt"

// socketAccessHint says how a user who may not open podd's socket (mode
// 0660, group podd) gets access.
func socketAccessHint(socket string) string {
	return fmt.Sprintf("you may not open %s: it is for root and the podd group; "+
		"add yourself to the podd group: sudo usermod -aG podd $USER, then log in again; or use sudo", socket)
}
