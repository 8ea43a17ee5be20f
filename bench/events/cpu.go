package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The machine's and the processes' CPU time, from /proc (Linux; unknown
// elsewhere), say per phase how much of the cores each process had, and
// whether something else ran: another process's burst moves a p99 more
// than anything measured here.

// cpuUse is a phase's CPU in cores (1.0: one core busy all along).
type cpuUse struct {
	server, players, readers, others float64
	// peak is the most the other processes took in one half-second,
	// busy the half-seconds in which they took more than half a core.
	peak        float64
	busy, ticks int
	ok          bool
}

func (c cpuUse) String() string {
	if !c.ok {
		return "CPU unknown"
	}
	return fmt.Sprintf("cores busy: API %.2f, players %.2f, readers %.2f, other processes %.2f (peak %.2f, above 0.5 in %d of %d half-seconds)",
		c.server, c.players, c.readers, c.others, c.peak, c.busy, c.ticks)
}

// clockTicks is USER_HZ, the unit of /proc/stat and /proc/<pid>/stat: 100
// on every Linux architecture Go supports.
const clockTicks = 100

type cpuSample struct {
	at    time.Time
	busy  int64   // machine, all cores, in clock ticks
	procs []int64 // each process's user + system ticks
	ok    bool
}

// sampleCPU reads the machine and the processes of the given stat files.
func sampleCPU(stats []string) cpuSample {
	s := cpuSample{at: time.Now()}
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return s
	}
	for i, v := range f[1:9] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			s.busy += n
		}
	}
	s.ok = true
	for _, path := range stats {
		n, ok := procTicks(path)
		s.procs = append(s.procs, n)
		s.ok = s.ok && ok
	}
	return s
}

// procTicks is a process's utime + stime, fields 14 and 15 of its stat
// (counted after the command name, which may hold spaces).
func procTicks(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	g := strings.Fields(rest)
	if !ok || len(g) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(g[11], 10, 64)
	st, err2 := strconv.ParseInt(g[12], 10, 64)
	return ut + st, err1 == nil && err2 == nil
}

// cores is each process's use from start to s, and the rest of the
// machine's.
func (s cpuSample) cores(start cpuSample) (procs []float64, others float64, ok bool) {
	secs := s.at.Sub(start.at).Seconds()
	if !s.ok || !start.ok || secs <= 0 || len(s.procs) != len(start.procs) {
		return nil, 0, false
	}
	others = float64(s.busy-start.busy) / clockTicks / secs
	for i := range s.procs {
		c := float64(s.procs[i]-start.procs[i]) / clockTicks / secs
		procs = append(procs, c)
		others -= c
	}
	return procs, max(0, others), true
}

// cpuWatch measures one phase: the whole of it, and every half-second
// for the other processes' bursts.
type cpuWatch struct {
	stats []string // the readers' (this process), the API's, the players' if any
	start cpuSample
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	peak  float64
	busy  int
	ticks int
}

func watchCPU(stats ...string) *cpuWatch {
	w := &cpuWatch{stats: append([]string{"/proc/self/stat"}, stats...), stop: make(chan struct{}), done: make(chan struct{})}
	w.start = sampleCPU(w.stats)
	go func() {
		defer close(w.done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		prev := w.start
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
			cur := sampleCPU(w.stats)
			if _, others, ok := cur.cores(prev); ok {
				w.mu.Lock()
				w.peak, w.ticks = max(w.peak, others), w.ticks+1
				if others > 0.5 {
					w.busy++
				}
				w.mu.Unlock()
			}
			prev = cur
		}
	}()
	return w
}

// end stops the watch; players is the players' process's CPU time when
// it has already exited (its stat file gone), else 0.
func (w *cpuWatch) end(players time.Duration) cpuUse {
	end := sampleCPU(w.stats[:min(len(w.stats), 2)])
	close(w.stop)
	<-w.done
	start := w.start
	start.procs = start.procs[:len(end.procs)]
	procs, others, ok := end.cores(start)
	if !ok {
		return cpuUse{}
	}
	u := cpuUse{readers: procs[0], server: procs[1], ok: true}
	if len(w.stats) > 2 {
		u.players = players.Seconds() / end.at.Sub(w.start.at).Seconds()
		others = max(0, others-u.players)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	u.others, u.peak, u.busy, u.ticks = others, w.peak, w.busy, w.ticks
	return u
}
