package main

import (
	"os/exec"
	"syscall"
)

// setParentDeath has the kernel end cmd (the API server, the players) if
// this process dies without stopping it, so that a killed benchmark
// leaves nothing listening behind it.
func setParentDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
