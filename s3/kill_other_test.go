//go:build !linux

package s3

import "os/exec"

// killWithParent has no portable equivalent of Linux's Pdeathsig; TestMain
// still stops the gateway on a normal exit.
func killWithParent(cmd *exec.Cmd) {}
