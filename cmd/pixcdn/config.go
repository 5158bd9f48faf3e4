package main

import (
	"fmt"
	"io"

	"github.com/pixcdn/pixcdn/internal/config"
)

// cmdConfig: "pixcdn config check FILE" validates a configuration without starting anything.
func cmdConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: pixcdn config check FILE")
		return 2
	}
	cfg, err := config.Load(args[1])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (%d domains)\n", args[1], len(cfg.Domains))
	return 0
}
