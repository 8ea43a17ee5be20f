package benchkit

import (
	"os/exec"
	"syscall"
)

// SetParentDeath has the kernel end cmd (a server, a load generator) if
// this process dies without stopping it, so that a killed benchmark
// leaves nothing listening behind it.
func SetParentDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
