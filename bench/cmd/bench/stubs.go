package main

func runControl(s *session) { notPorted(s) }
func runRouter(s *session)  { notPorted(s) }

func notPorted(s *session) {
	fail("section %s is not ported to Go yet: run it with bench/run.sh", s.cmd)
}
