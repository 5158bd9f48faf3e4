//go:build unix

package edge

import (
	"net"
	"syscall"
)

// warnUDPBuffers logs, once per socket, when the kernel kept the UDP buffers of HTTP/3 below
// want, what quic-go asked for (it caps them at net.core.rmem_max and wmem_max, 208 KiB on many
// distributions): bursts beyond them are dropped and cost retransmissions.
func (s *Server) warnUDPBuffers(conn *net.UDPConn, want int) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return
	}
	var rcv, snd int
	rc.Control(func(fd uintptr) {
		rcv, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		snd, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	})
	if msg := udpBufferProblem(rcv, snd, want); msg != "" {
		s.log.Warn(msg, "receive_kib", rcv>>10, "send_kib", snd>>10, "want_kib", want>>10,
			"fix", "sysctl -w net.core.rmem_max=7500000 net.core.wmem_max=7500000 (see docs/deployment.md)")
	}
}
