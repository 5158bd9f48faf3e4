// Command pixcdn is the pixcdn binary: an edge node, its demo and its tools, one subcommand each.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	// The edge warns of small UDP buffers itself, through the process logger and with the
	// sysctls that fix them; quic-go would print the same once more on standard error.
	os.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true")
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `pixcdn: a CDN edge for images and small files

usage:
  pixcdn demo [-listen ADDR]            start an edge in front of a bundled sample site
  pixcdn edge -config FILE              run an edge node from a configuration file
  pixcdn edge -origin ORIGIN [flags]    run an edge for one origin without a file
  pixcdn control -data DIR [flags]      run the control plane (configuration, purge, stats for every node)
  pixcdn router -zone ZONE -nodes FILE -dns ADDR [-http ADDR]
                                        send each client to a near, healthy node (DNS or HTTP 302)
  pixcdn config check FILE              validate a configuration file
  pixcdn config push|history|show|rollback ...
                                        manage the domains' configuration on the control plane
  pixcdn purge [-soft] [-prefix|-tag|-domain] TARGET...
                                        purge the cache of a node (-admin) or of every node (-control)
  pixcdn prefetch [-f FILE] URL...      warm the cache of a node (-admin) or of every POP (-control)
  pixcdn sign -config FILE URL...       print signed URLs for a domain's access.sign
  pixcdn version                        print the version

Run "pixcdn COMMAND -h" for the flags of a command.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "demo":
		return cmdDemo(rest, stdout, stderr)
	case "edge":
		return cmdEdge(rest, stdout, stderr)
	case "control":
		return cmdControl(rest, stdout, stderr)
	case "router":
		return cmdRouter(rest, stdout, stderr)
	case "config":
		return cmdConfig(rest, stdout, stderr)
	case "purge":
		return cmdPurge(rest, stdout, stderr)
	case "prefetch":
		return cmdPrefetch(rest, stdout, stderr)
	case "sign":
		return cmdSign(rest, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "pixcdn: unknown command %q\n\n%s", cmd, usage)
	return 2
}

// parseExit is the exit status of a subcommand whose flags did not parse: 0 when help was
// asked for (-h printed it), 2 for a mistake.
func parseExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
