package s3

import (
	"os/exec"
	"syscall"
)

// killWithParent makes the kernel kill the gateway if the test binary dies
// without running TestMain's cleanup (a panic, a -timeout, a SIGKILL).
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
