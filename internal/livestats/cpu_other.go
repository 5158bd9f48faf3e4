//go:build !unix

package livestats

import "time"

// cpuTime is not measured here: the sample reports no CPU.
func cpuTime() time.Duration { return 0 }
