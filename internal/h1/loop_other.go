//go:build !linux

package h1

import "net"

// loopSet is empty where event loops are not built: every connection has a goroutine.
type loopSet struct{}

func (s *Server) adopt(net.Conn) bool { return false }

func (s *Server) wakeLoops() {}
