//go:build !linux

package main

import "os/exec"

// setParentDeath does nothing where the kernel has no parent-death signal:
// the API server still exits when its stdin closes, and the players at
// the end of their phase.
func setParentDeath(cmd *exec.Cmd) {}
