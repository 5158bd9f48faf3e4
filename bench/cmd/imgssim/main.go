// Command imgssim prints the structural similarity (SSIM, Wang et al. 2004: 11x11 Gaussian
// window, sigma 1.5, K1 0.01, K2 0.03, L 255) of two PNG images of the same size, per R, G and B
// channel and their mean, so bench/run.sh images can check that default encoder qualities do not
// visibly degrade a photo. ImageMagick 6 (Debian's) has no SSIM metric and the Debian libjxl
// tools ship no butteraugli or ssimulacra2, hence this small program; decode other formats to
// PNG (vips copy x.avif x.png) first. The measure itself is bench/internal/ssim.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/pixcdn/pixcdn/bench/internal/ssim"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "imgssim:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: imgssim REFERENCE.png IMAGE.png")
	}
	ref, err := ssim.ReadPNG(args[0])
	if err != nil {
		return err
	}
	img, err := ssim.ReadPNG(args[1])
	if err != nil {
		return err
	}
	s, err := ssim.SSIM(ref, img)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "SSIM=%.5f r=%.5f g=%.5f b=%.5f\n", s.Mean(), s[0], s[1], s[2])
	return err
}
