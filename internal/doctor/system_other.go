//go:build !linux

package doctor

import "errors"

var errNotLinux = errors.New("only on Linux")

func statfs(string) (Space, error) { return Space{}, errNotLinux }
func clockSynced() (bool, error)   { return false, errNotLinux }
