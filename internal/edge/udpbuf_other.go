//go:build !unix

package edge

import "net"

// warnUDPBuffers has nothing to read the buffer sizes with here; quic-go warns on its own.
func (s *Server) warnUDPBuffers(*net.UDPConn, int) {}
