package testenv

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill the child if the test process dies
// without running its cleanups.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
