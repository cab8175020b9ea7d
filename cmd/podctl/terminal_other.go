//go:build !linux

package main

import "io"

// isTerminal reports false off Linux: watch prints blocks, not redraws.
func isTerminal(io.Writer) bool { return false }
