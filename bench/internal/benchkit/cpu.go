package benchkit

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// CPUTimes is the machine's CPU time since boot, from /proc/stat, summed
// over the cores: what a run's figures are explained by.
type CPUTimes struct {
	Busy, Idle, Steal time.Duration
}

// ReadCPU reads /proc/stat; ok is false where there is none.
func ReadCPU() (t CPUTimes, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return t, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return t, false
	}
	// user nice system idle iowait irq softirq steal; USER_HZ is 100 on Linux.
	tick := func(i int) time.Duration {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		return time.Duration(n) * 10 * time.Millisecond
	}
	t.Busy = tick(1) + tick(2) + tick(3) + tick(6) + tick(7)
	t.Idle = tick(4) + tick(5)
	t.Steal = tick(8)
	return t, true
}

// Sub is the CPU time spent between u and t.
func (t CPUTimes) Sub(u CPUTimes) CPUTimes {
	return CPUTimes{Busy: t.Busy - u.Busy, Idle: t.Idle - u.Idle, Steal: t.Steal - u.Steal}
}
