package main

import (
	"fmt"
	"os"

	"github.com/sleegation/podd/controller"
)

// geteuid is the effective user id podctl runs as (os.Geteuid; tests
// replace it).
var geteuid = os.Geteuid

// sudoNote returns the note podctl ack sends. podd records the uid the
// kernel gives for the socket (SO_PEERCRED): under sudo that is root's, 0,
// whoever typed the command. When podctl runs as root (euid 0) with
// SUDO_USER set, it puts that user in the note, marked as claimed: sudo
// sets the variable, but any process running as root can set it to
// anything, so it is the caller's word beside the proven uid, never an
// identity. The result must be a note the pod records as it is
// (controller.CleanAckNote, at most controller.MaxAckNote characters with
// the prefix); otherwise it is an error that names the cause.
func sudoNote(note, sudoUser string, euid int) (string, error) {
	if euid != 0 || sudoUser == "" {
		return note, nil
	}
	n := fmt.Sprintf("via sudo from %s (SUDO_USER, claimed)", sudoUser)
	if note != "" {
		n += "; " + note
	}
	clean, err := controller.CleanAckNote(n)
	if err != nil {
		return "", fmt.Errorf("the note with the sudo user added (%q): %w", n, err)
	}
	return clean, nil
}
