//go:build !linux

package benchkit

import "os/exec"

// SetParentDeath does nothing where the kernel has no parent-death signal.
func SetParentDeath(cmd *exec.Cmd) {}
