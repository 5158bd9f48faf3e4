package s3test

import (
	"os/exec"
	"syscall"
)

// setDeathSignal kills versitygw when the test binary dies without calling Close.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
