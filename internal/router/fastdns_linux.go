package router

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePortAvailable: Linux spreads a port's datagrams over the sockets bound to it with
// SO_REUSEPORT (by a hash of the source address and port).
const reusePortAvailable = true

func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
