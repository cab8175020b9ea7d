package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/api"
)

// podctl's exit statuses (the package doc and podctl --help list them).
const (
	exitOK       = 0 // done
	exitError    = 1 // an error: podd not running or not reachable, its store not open, a failure
	exitBadInput = 2 // bad input: an unknown command or flag, wrong arguments, a configuration with problems (config check)
	exitRefused  = 3 // the pod refused (an ack while still unsafe or with nothing latched, a self-test on an occupied pod)
	exitAudit    = 4 // the audit log is broken (audit verify)
	exitChecks   = 5 // a check failed (doctor, scan, selftest sensors)
)

// exitCodes is the text of the exit statuses, for podctl --help.
const exitCodes = `Exit status:
  0  done
  1  an error: podd not running or not reachable, its store not open, a failure
  2  bad input: an unknown command or flag, wrong arguments, a configuration
     with problems (config check)
  3  the pod refused: an ack while still unsafe or with nothing latched, a
     self-test on an occupied pod, an identify during a merge, a scan while
     podd runs
  4  the audit log is broken (audit verify)
  5  a check failed (doctor, scan, selftest sensors)
`

// badInput marks an error in what the user typed or gave: exit status 2.
type badInput struct{ err error }

func (e badInput) Error() string { return e.err.Error() }
func (e badInput) Unwrap() error { return e.err }

// exitCode is the exit status for the error Execute returned.
func exitCode(err error) int {
	var bad badInput
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &bad):
		return exitBadInput
	case errors.Is(err, api.ErrRefused):
		return exitRefused
	case errors.Is(err, errAuditBroken):
		return exitAudit
	case errors.Is(err, errChecksFailed):
		return exitChecks
	}
	return exitError
}

// withUsageErrors makes a mistyped command, a bad flag and wrong arguments
// bad input (exit status 2) throughout the tree under root, and ends
// root's help with the exit statuses. Call it once every command is added.
func withUsageErrors(root *cobra.Command) *cobra.Command {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput{err} })
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if args := c.Args; args != nil {
			c.Args = func(cmd *cobra.Command, a []string) error {
				if err := args(cmd, a); err != nil {
					return badInput{err}
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	root.SetUsageTemplate(root.UsageTemplate() + "\n" + exitCodes)
	return root
}
