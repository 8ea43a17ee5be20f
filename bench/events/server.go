package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/api"
	"github.com/ginflix/ginflix/bench/internal/benchkit"
	"github.com/ginflix/ginflix/filesystem"
	"github.com/ginflix/ginflix/oidc"
	"github.com/ginflix/ginflix/playback"
	"github.com/ginflix/ginflix/prometheus"
	"github.com/ginflix/ginflix/sqlite"
)

// The API runs in a process of its own, as `ginflix serve` does, and the
// players in another, as browsers would: in one Go runtime, the players'
// 500 goroutines would queue on the server's two Ps and inflate the
// catalogue's p99 with work a real server never does.

// keysEnv carries the playback key to the server process, out of its
// command line.
const keysEnv = "GINFLIX_BENCH_PLAYBACK_KEYS"

// serverProc is the API server child, controlled through its stdin:
// "profile FILE" starts a CPU profile, "stop" ends it, EOF stops it.
type serverProc struct {
	cmd   *exec.Cmd
	ctl   io.WriteCloser
	url   string
	procs string // its /proc/<pid>/stat
}

func startServer(exe, dir string, cfg config, issuer, audience string) (*serverProc, error) {
	cmd := exec.Command(exe, "-child", "serve", "-dir", dir, "-issuer", issuer, "-audience", audience,
		"-cache-ttl", cfg.cacheTTL.String(), "-rate-limit", fmt.Sprint(cfg.ratePerMinute), "-view-threshold", cfg.viewThreshold.String())
	cmd.Env = append(os.Environ(), keysEnv+"="+playback.NewKey("k1"))
	cmd.Stderr = os.Stderr
	benchkit.SetParentDeath(cmd)
	ctl, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	u, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("API server process: %q: %v", line, err)
	}
	return &serverProc{cmd: cmd, ctl: ctl, url: u, procs: fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid)}, nil
}

func (s *serverProc) profile(file string) { fmt.Fprintf(s.ctl, "profile %s\n", file) }
func (s *serverProc) stopProfile()        { fmt.Fprintln(s.ctl, "stop") }

// stop closes the control pipe, on which the server exits, and kills it
// if it has not within a few seconds.
func (s *serverProc) stop() {
	s.ctl.Close()
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// serveChild is the API server process: the store the parent seeded, the
// oidc verifier against the parent's issuer, a playback signer, and
// api.NewServer on 127.0.0.1.
func serveChild(dir, issuer, audience string, cacheTTL time.Duration, ratePerMinute float64, viewThreshold time.Duration) error {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "ginflix.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	objects, err := filesystem.New(filepath.Join(dir, "objects"))
	if err != nil {
		return err
	}
	verifier, err := oidc.NewVerifier(oidc.Config{Issuer: issuer, Audience: audience, AdminRole: ginflix.RoleAdmin, ViewerRole: ginflix.RoleViewer})
	if err != nil {
		return err
	}
	signer, err := playback.ParseKeys(os.Getenv(keysEnv))
	if err != nil {
		return err
	}
	h := api.NewServer(api.Deps{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: db, Objects: objects,
		Metrics: prometheus.New("bench"), Version: "bench", CatalogCacheTTL: cacheTTL,
		Verifier: verifier, AdminRole: ginflix.RoleAdmin, ViewerRole: ginflix.RoleViewer,
		Playback: &signer,
		Analytics: api.AnalyticsConfig{
			ViewThreshold:    viewThreshold,
			BatchesPerMinute: ratePerMinute,
			BatchBurst:       api.DefaultBatchBurst,
		},
		Public: api.PublicConfig{Issuer: issuer, ClientID: "ginflix-web", StreamerURL: "http://127.0.0.1:9/stream"},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Printf("listening http://%s\n", ln.Addr())
	var prof *os.File
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() { // until the parent closes the pipe or dies
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		switch {
		case cmd == "profile" && prof == nil:
			if prof, err = os.Create(arg); err == nil {
				err = pprof.StartCPUProfile(prof)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench: API server: profile:", err)
				prof = nil
			}
		case cmd == "stop" && prof != nil:
			pprof.StopCPUProfile()
			prof.Close()
			prof = nil
		}
	}
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}
	return nil
}
