//go:build !linux

package router

import "syscall"

// reusePortAvailable: elsewhere one socket, read by one goroutine per CPU.
const reusePortAvailable = false

func reusePort(_, _ string, _ syscall.RawConn) error { return nil }
