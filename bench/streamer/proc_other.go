//go:build !linux

package main

import "os/exec"

// setParentDeath does nothing where the kernel has no parent-death signal:
// the benchmark still stops nginx on its way out, and on SIGINT or SIGTERM.
func setParentDeath(cmd *exec.Cmd) {}
