// Command streamer benchmarks HLS delivery: the streamer role
// (streamer.NewServer over the filesystem object store, every request
// with a valid token) against nginx from Debian serving the same tree
// from disk with sendfile. Both listen on 127.0.0.1 and are loaded by wrk
// with the same script (pick.lua: a random path of a list per request),
// in alternating runs of the same length: nginx, streamer, nginx again
// for each kind of load, in every round.
//
//	go run ./bench/streamer [-segments 300] [-duration 10s] [-rounds 3] [-connections 64] [-only warm,cold,playlists] [-reference]
//
// It prints requests/s and p99 latency of the streamer relative to nginx
// for segments (warm and cold cache) and playlists, whether the targets
// are met, the spread between the two nginx runs of each round (the
// noise), the CPU each request cost the server side and wrk (from
// /proc/stat and wrk's own usage: on 2 cores the two share the machine, so
// the server that costs less leaves wrk more), and the machine's load
// (uptime). The streamer listens as `ginflix serve` does, with
// GINFLIX_STREAMER_UNSENT_LIMIT's default (-unsent-limit). It needs the
// nginx and wrk commands: apt-get install -y nginx-light wrk.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/ginflix/ginflix/bench/internal/benchkit"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/filesystem"
	"github.com/ginflix/ginflix/playback"
	"github.com/ginflix/ginflix/streamer"
)

//go:embed pick.lua
var pickLua []byte

//go:embed nginx.conf.tmpl
var nginxConf string

// Targets from the issue, streamer relative to nginx in the same round.
const (
	targetSegmentRPS = 1.0  // warm-cache segments: ≥ 1.0x nginx's requests/s
	targetSegmentP99 = 1.25 // and p99 ≤ 1.25x nginx's
	targetPlaylist   = 0.5  // playlists: ≥ 0.5x nginx's requests/s
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	segments    int
	duration    time.Duration
	rounds      int
	connections int
	threads     int
	workers     int
	coldShare   float64
	reference   bool
	cpuprofile  string
	keep        bool
	kinds       []kind // the loads to run, of allKinds
	unsentLimit int
}

func run() error {
	var cfg config
	flag.IntVar(&cfg.segments, "segments", 300, "media segments in the HLS tree (0.3–1.5 MB each)")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of each wrk run")
	flag.IntVar(&cfg.rounds, "rounds", 3, "rounds; each runs nginx, the streamer and nginx again for every kind of load")
	flag.IntVar(&cfg.connections, "connections", 64, "wrk connections")
	flag.IntVar(&cfg.threads, "threads", 2, "wrk threads")
	flag.IntVar(&cfg.workers, "nginx-workers", runtime.NumCPU(), "nginx worker processes (one per core)")
	flag.Float64Var(&cfg.coldShare, "cold-cache", 0.25, "cold runs: the streamer's CacheBytes as a share of the segments' bytes")
	flag.BoolVar(&cfg.reference, "reference", false, "also run plain Go servers (segments from memory, playlists with http.FileServer) for comparison")
	flag.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile of each streamer run to FILE-<kind>-r<round>.pprof")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (tree, lists, nginx config)")
	flag.IntVar(&cfg.unsentLimit, "unsent-limit", streamer.DefaultUnsentLimit, "TCP_NOTSENT_LOWAT of the streamer's connections in bytes, as GINFLIX_STREAMER_UNSENT_LIMIT (0: the kernel's default)")
	only := flag.String("only", "", "run only these loads, comma-separated: warm, cold, playlists (default all)")
	flag.Parse()
	cfg.kinds = allKinds
	if *only != "" {
		cfg.kinds = nil
		for _, k := range allKinds {
			if slices.Contains(strings.Split(*only, ","), k.short) {
				cfg.kinds = append(cfg.kinds, k)
			}
		}
		if len(cfg.kinds) == 0 {
			return errors.New("-only: give warm, cold or playlists")
		}
	}
	if cfg.segments < 3 || cfg.rounds < 1 || cfg.connections < 1 || cfg.threads < 1 || cfg.threads > cfg.connections ||
		cfg.duration < time.Second || cfg.workers < 1 || cfg.coldShare <= 0 || cfg.coldShare >= 1 {
		return errors.New("want -segments ≥ 3, -rounds ≥ 1, -duration ≥ 1s, 1 ≤ -threads ≤ -connections, -nginx-workers ≥ 1, 0 < -cold-cache < 1")
	}
	nginxBin, wrkBin, err := tools()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("", "ginflix-bench-streamer-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Fprintln(os.Stderr, "keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	// nginx's workers drop root for nobody: they must be able to read the tree.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	objects, err := filesystem.New(filepath.Join(dir, "objects"))
	if err != nil {
		return err
	}
	defer objects.Close()

	// A video token lives one to two windows: make sure it outlives the run.
	planned := time.Duration(cfg.rounds*(len(cfg.kinds)*3+3))*cfg.duration + 10*time.Minute
	signer, err := playback.ParseKeys(playback.NewKey("bench"))
	if err != nil {
		return err
	}
	if planned > playback.DefaultWindow {
		signer.Window = planned
	}
	start := time.Now()
	t, err := buildTree(ctx, objects, &signer, cfg.segments, planned)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "tree: %d videos x %d rungs, %d segments of %s–%s (mean %s, %s in all), %d playlists; written in %s\n",
		t.videos, len(rungs), len(t.segments), mb(t.minSeg), mb(t.maxSeg), mb(t.segBytes/int64(len(t.segments))), mb(t.segBytes),
		len(t.playlists), time.Since(start).Round(100*time.Millisecond))
	lists := map[string]string{}
	for name, paths := range map[string][]string{"segments": t.segments, "playlists": t.playlists} {
		lists[name] = filepath.Join(dir, name+".txt")
		if err := os.WriteFile(lists[name], []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	script := filepath.Join(dir, "pick.lua")
	if err := os.WriteFile(script, pickLua, 0o644); err != nil {
		return err
	}

	// (a) nginx.
	ngx, err := startNginx(ctx, nginxBin, dir, objects.Dir(), cfg.workers)
	if err != nil {
		return err
	}
	defer ngx.stop()

	// (b) the streamer, twice: a cache that holds the whole tree (warm),
	// and one that holds a share of the segments (cold: most requests miss).
	var stops []func()
	defer func() {
		for _, s := range stops {
			s()
		}
	}()
	newStreamer := func(cacheBytes int64) (string, *counters, error) {
		m := &counters{}
		h := streamer.NewServer(streamer.Deps{
			Logger: slog.New(slog.DiscardHandler), Objects: objects, Signer: &signer, Metrics: m,
			CacheBytes: cacheBytes,
		})
		// As `ginflix serve` listens for the streamer role.
		u, stop, err := serveOn(h, cfg.unsentLimit)
		if err == nil {
			stops = append(stops, stop)
		}
		return u, m, err
	}
	warmBytes := 2*t.allBytes + 64<<20
	coldBytes := int64(cfg.coldShare * float64(t.segBytes))
	warmURL, warmM, err := newStreamer(warmBytes)
	if err != nil {
		return err
	}
	coldURL, coldM, err := newStreamer(coldBytes)
	if err != nil {
		return err
	}
	servers := map[string]string{"nginx": ngx.url, "streamer warm": warmURL, "streamer cold": coldURL}
	// -reference: what net/http does with no work of its own, by list.
	refs := map[string][]reference{}
	if cfg.reference {
		all := slices.Concat(t.segments, t.playlists)
		mem, err := memoryServer(objects.Dir(), all, 0, &stops)
		if err != nil {
			return err
		}
		// The same with the streamer's socket option: what it is worth alone.
		memLimited, err := memoryServer(objects.Dir(), all, cfg.unsentLimit, &stops)
		if err != nil {
			return err
		}
		fileServer, stop, err := serveOn(http.StripPrefix("/stream/videos/", http.FileServer(http.Dir(filepath.Join(objects.Dir(), ginflix.PrefixHLS)))), 0)
		if err != nil {
			return err
		}
		stops = append(stops, stop)
		servers["plain Go, memory"], servers["plain Go, FileServer"] = mem, fileServer
		refs["segments"] = []reference{{"plain Go, files in memory", mem}}
		if cfg.unsentLimit > 0 {
			servers["plain Go, memory, unsent limit"] = memLimited
			refs["segments"] = append(refs["segments"], reference{fmt.Sprintf("plain Go, in memory, unsent limit %dKiB", cfg.unsentLimit>>10), memLimited})
		}
		refs["playlists"] = []reference{{"plain Go, http.FileServer", fileServer}, {"plain Go, files in memory", mem}}
	}

	// Every URL answers 200 with the right bytes on every server, and a
	// forged token is refused: the streamer does check them. This pass
	// also fills the warm cache and nginx's file cache.
	if err := check(ctx, t, servers); err != nil {
		return err
	}
	warmM.reset()
	coldM.reset()
	fmt.Fprintf(os.Stderr, "nginx %s (%d workers), streamer warm %s (CacheBytes %s), cold %s (CacheBytes %s = %.0f%% of the segments)\n",
		ngx.url, cfg.workers, warmURL, mb(warmBytes), coldURL, mb(coldBytes), 100*cfg.coldShare)
	uptimeBefore := benchkit.Uptime()
	fmt.Fprintf(os.Stderr, "uptime before: %s\n", uptimeBefore)
	if l, ok := benchkit.Load1(); ok && l > float64(runtime.NumCPU()) {
		fmt.Fprintf(os.Stderr, "warning: a load average of %.1f on %d cores: something else is running, the ratios will be noisy\n", l, runtime.NumCPU())
	}
	runs := len(cfg.kinds) * 3
	for _, k := range cfg.kinds {
		if !k.cold {
			runs += len(refs[k.list])
		}
	}
	fmt.Fprintf(os.Stderr, "wrk: %d threads, %d connections, %s per run; %d rounds of %d runs\n",
		cfg.threads, cfg.connections, cfg.duration, cfg.rounds, runs)

	w := wrkRunner{bin: wrkBin, script: script, cfg: cfg}
	res := map[string][]round{}
	for r := 1; r <= cfg.rounds; r++ {
		for _, k := range cfg.kinds {
			list := lists[k.list]
			var rd round
			if rd.a1, err = w.run(ctx, ngx.url, list); err != nil {
				return fmt.Errorf("%s, nginx: %w", k.name, err)
			}
			target := warmURL
			if k.cold {
				target = coldURL
			}
			prof, err := startProfile(cfg.cpuprofile, k.name, r)
			if err != nil {
				return err
			}
			rd.b, err = w.run(ctx, target, list)
			prof()
			if err != nil {
				return fmt.Errorf("%s, streamer: %w", k.name, err)
			}
			if !k.cold {
				for _, ref := range refs[k.list] {
					c, err := w.run(ctx, ref.url, list)
					if err != nil {
						return fmt.Errorf("%s, %s: %w", k.name, ref.label, err)
					}
					rd.refs = append(rd.refs, c)
				}
			}
			if rd.a2, err = w.run(ctx, ngx.url, list); err != nil {
				return fmt.Errorf("%s, nginx again: %w", k.name, err)
			}
			res[k.name] = append(res[k.name], rd)
			line := fmt.Sprintf("round %d/%d %-15s nginx %s | streamer %s | nginx again %s", r, cfg.rounds, k.name, rd.a1, rd.b, rd.a2)
			for i, c := range rd.refs {
				line += fmt.Sprintf(" | %s %s", refs[k.list][i].label, c)
			}
			fmt.Fprintln(os.Stderr, line)
		}
	}
	if err := ngx.alive(); err != nil {
		return err
	}
	report(os.Stdout, cfg, t, res, refs, map[string]*counters{"segments warm": warmM, "segments cold": coldM})
	fmt.Printf("uptime before: %s\nuptime after:  %s\n", uptimeBefore, benchkit.Uptime())
	return nil
}

// kind is one load: which list wrk draws from, against which streamer.
type kind struct {
	name, short string
	list        string
	cold        bool
}

var allKinds = []kind{
	{"segments warm", "warm", "segments", false},
	{"segments cold", "cold", "segments", true},
	{"playlists warm", "playlists", "playlists", false},
}

func tools() (nginx, wrk string, err error) {
	var missing []string
	nginx, err = exec.LookPath("nginx")
	if err != nil {
		// Debian puts it in /usr/sbin, which a user's PATH may lack.
		if _, serr := os.Stat("/usr/sbin/nginx"); serr == nil {
			nginx = "/usr/sbin/nginx"
		} else {
			missing = append(missing, "nginx")
		}
	}
	wrk, err = exec.LookPath("wrk")
	if err != nil {
		missing = append(missing, "wrk")
	}
	if len(missing) > 0 {
		return "", "", fmt.Errorf("%s not installed: this benchmark runs nginx and wrk from Debian; "+
			"install them with `sudo apt-get install -y nginx-light wrk` (or `nginx wrk`), or run `make bench`", strings.Join(missing, " and "))
	}
	return nginx, wrk, nil
}

// rung is one rendition of the generated ladder: segment sizes of a 4 s
// segment at roughly its bitrate.
type rung struct {
	name     string
	min, max int
	width    int
	height   int
	bw       int
}

var rungs = []rung{
	{"720p", 1_000_000, 1_500_000, 1280, 720, 2_800_000},
	{"480p", 550_000, 1_000_000, 854, 480, 1_600_000},
	{"360p", 300_000, 550_000, 640, 360, 800_000},
}

// segmentsPerRung is about a 100 s clip of 4 s segments.
const segmentsPerRung = 25

type tree struct {
	videos         int
	segments       []string // request paths with their ?vt=
	playlists      []string // request paths with their ?token=
	sizes          map[string]int64
	segBytes       int64
	allBytes       int64
	minSeg, maxSeg int64
	forged         string // a segment path with a tampered token
}

// buildTree writes an HLS tree into the object store as the pipeline lays
// it out (videos/hls/{id}/master.m3u8, {rung}/index.m3u8, {rung}/init.mp4,
// {rung}/seg_%05d.m4s), and returns the request paths with valid tokens.
// Segments are random bytes of realistic sizes: the server never parses
// them, so for delivery they are as good as encoded video, and generating
// them costs no encoding time on a shared machine.
func buildTree(ctx context.Context, store *filesystem.Store, signer *playback.Signer, n int, ttl time.Duration) (*tree, error) {
	rng := rand.New(rand.NewPCG(7, 11))
	src := rand.NewChaCha8([32]byte{1, 2, 3})
	perVideo := len(rungs) * segmentsPerRung
	t := &tree{videos: max(1, (n+perVideo-1)/perVideo), sizes: map[string]int64{}, minSeg: math.MaxInt64}
	buf := make([]byte, rungs[0].max)
	put := func(key string, data []byte, size int) error {
		if err := store.Put(ctx, key, bytes.NewReader(data[:size]), int64(size), ginflix.ContentTypeFor(key)); err != nil {
			return err
		}
		t.sizes[key] = int64(size)
		t.allBytes += int64(size)
		return nil
	}
	left := n
	for v := range t.videos {
		var idb [12]byte
		for i := range idb {
			idb[i] = byte(rng.UintN(256))
		}
		id := fmt.Sprintf("%x", idb)
		prefix := ginflix.HLSPrefix(id)
		vt := signer.VideoToken(id, time.Now())
		viewer := signer.SignViewer(id, "bench-viewer", ttl)
		base := "/stream/videos/" + id + "/"
		var master bytes.Buffer
		master.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
		for ri, r := range rungs {
			// Spread n over the videos and rungs still to write.
			count := left / (len(rungs)*(t.videos-v) - ri)
			left -= count
			fmt.Fprintf(&master, "\n#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d,RESOLUTION=%dx%d,CODECS=\"avc1.64001f,mp4a.40.2\",FRAME-RATE=30.000\n%s/index.m3u8\n",
				r.bw*11/10, r.bw, r.width, r.height, r.name)
			initSize := 800 + rng.IntN(400)
			src.Read(buf[:initSize])
			if err := put(prefix+r.name+"/init.mp4", buf, initSize); err != nil {
				return nil, err
			}
			var media bytes.Buffer
			media.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4\"\n")
			for s := range count {
				name := fmt.Sprintf("seg_%05d.m4s", s)
				size := r.min + rng.IntN(r.max-r.min+1)
				src.Read(buf[:size])
				if err := put(prefix+r.name+"/"+name, buf, size); err != nil {
					return nil, err
				}
				t.segBytes += int64(size)
				t.minSeg, t.maxSeg = min(t.minSeg, int64(size)), max(t.maxSeg, int64(size))
				t.segments = append(t.segments, base+r.name+"/"+name+"?vt="+url.QueryEscape(vt))
				media.WriteString("#EXTINF:4.000000,\n" + name + "\n")
			}
			media.WriteString("#EXT-X-ENDLIST\n")
			if err := put(prefix+r.name+"/index.m3u8", media.Bytes(), media.Len()); err != nil {
				return nil, err
			}
			t.playlists = append(t.playlists, base+r.name+"/index.m3u8?token="+url.QueryEscape(viewer))
		}
		if err := put(prefix+"master.m3u8", master.Bytes(), master.Len()); err != nil {
			return nil, err
		}
		t.playlists = append(t.playlists, base+"master.m3u8?token="+url.QueryEscape(viewer))
	}
	// The same segment with the last character of its MAC changed.
	p := t.segments[0]
	last := p[len(p)-1]
	swap := byte('A')
	if last == 'A' {
		swap = 'B'
	}
	t.forged = p[:len(p)-1] + string(swap)
	return t, nil
}

// keyOf maps a request path to its object key.
func keyOf(p string) string {
	p, _, _ = strings.Cut(p, "?")
	return ginflix.PrefixHLS + strings.TrimPrefix(p, "/stream/videos/")
}

func check(ctx context.Context, t *tree, servers map[string]string) error {
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(u string) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, nil, err
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, b, err
	}
	for name, base := range servers {
		for _, p := range slices.Concat(t.segments, t.playlists) {
			code, body, err := get(base + p)
			if err != nil {
				return fmt.Errorf("check %s: %w", name, err)
			}
			if code != http.StatusOK {
				return fmt.Errorf("check %s: GET %s: status %d: %.200s", name, p, code, body)
			}
			isPlaylist := strings.Contains(p, ".m3u8")
			if want := t.sizes[keyOf(p)]; !isPlaylist && int64(len(body)) != want {
				return fmt.Errorf("check %s: GET %s: %d bytes, want %d", name, p, len(body), want)
			}
			if strings.HasPrefix(name, "streamer") && strings.Contains(p, "/index.m3u8") && !bytes.Contains(body, []byte(".m4s?vt=")) {
				return fmt.Errorf("check %s: GET %s: the media playlist was not rewritten with video tokens", name, p)
			}
		}
		if strings.HasPrefix(name, "streamer") {
			if code, _, err := get(base + t.forged); err != nil || code != http.StatusForbidden {
				return fmt.Errorf("check %s: a forged token got %d %v, want 403", name, code, err)
			}
		}
	}
	return nil
}

// serveOn serves h on a port of 127.0.0.1, with TCP_NOTSENT_LOWAT set to
// unsentLimit on its connections when not 0.
func serveOn(h http.Handler, unsentLimit int) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	ln = streamer.Listener(ln, unsentLimit)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// memoryServer is the least a Go server can do: the file's bytes from a
// map, one Write, through the same net/http stack. Playlists are served as
// stored, not rewritten.
func memoryServer(root string, paths []string, unsentLimit int, stops *[]func()) (string, error) {
	files := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(keyOf(p))))
		if err != nil {
			return "", err
		}
		p, _, _ = strings.Cut(p, "?")
		files[p] = b
	}
	u, stop, err := serveOn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", ginflix.ContentTypeFor(r.URL.Path))
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	}), unsentLimit)
	if err == nil {
		*stops = append(*stops, stop)
	}
	return u, err
}

type nginxProc struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	errLog string
	exited chan struct{}
}

func startNginx(ctx context.Context, bin, dir, root string, workers int) (*nginxProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("nginx").Parse(nginxConf)
	if err != nil {
		return nil, err
	}
	var conf bytes.Buffer
	if err := tmpl.Execute(&conf, map[string]any{"Dir": dir, "Root": root, "Port": port, "Workers": workers}); err != nil {
		return nil, err
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	for _, d := range []string{"body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		if err := os.MkdirAll(filepath.Join(dir, "nginx-tmp", d), 0o755); err != nil {
			return nil, err
		}
	}
	n := &nginxProc{url: "http://127.0.0.1:" + strconv.Itoa(port), stderr: &bytes.Buffer{},
		errLog: filepath.Join(dir, "nginx-error.log"), exited: make(chan struct{})}
	// -e: errors before the configuration is read go there too, not to
	// /var/log/nginx, which a user may not write.
	n.cmd = exec.Command(bin, "-p", dir, "-c", confPath, "-e", n.errLog)
	n.cmd.Stdout, n.cmd.Stderr = n.stderr, n.stderr
	benchkit.SetParentDeath(n.cmd)
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	go func() { n.cmd.Wait(); close(n.exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-n.exited:
			return nil, fmt.Errorf("nginx exited at start-up: %s", n.diagnostics())
		case <-ctx.Done():
			n.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
			c.Close()
			return n, nil
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, fmt.Errorf("nginx does not listen on port %d after 10 s: %s", port, n.diagnostics())
		}
	}
}

func (n *nginxProc) diagnostics() string {
	log, _ := os.ReadFile(n.errLog)
	return strings.TrimSpace(n.stderr.String() + "\n" + string(log))
}

func (n *nginxProc) alive() error {
	select {
	case <-n.exited:
		return fmt.Errorf("nginx exited during the run: %s", n.diagnostics())
	default:
		return nil
	}
}

// stop asks the master for a fast shutdown (SIGTERM ends its workers
// too), then kills it if it lingers.
func (n *nginxProc) stop() {
	select {
	case <-n.exited:
		return
	default:
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(5 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// result is one wrk run.
type result struct {
	requests int
	rps      float64
	p50, p99 time.Duration
	bytesPS  float64
	errors   int    // non-2xx/3xx answers plus socket errors
	errKinds string // which, as wrk names them
	// CPU per request: wrk's own, and the rest of the machine's (the
	// server, and the kernel's work on both ends of loopback); zero
	// where /proc/stat is missing.
	wrkCPU, serverCPU time.Duration
	idle              float64 // share of the cores left idle
}

func (r result) String() string {
	s := fmt.Sprintf("%.0f req/s p99 %s", r.rps, benchkit.Dur(r.p99))
	if r.serverCPU > 0 {
		s += fmt.Sprintf(" cpu/req server %s wrk %s idle %.0f%%", r.serverCPU.Round(time.Microsecond), r.wrkCPU.Round(time.Microsecond), 100*r.idle)
	}
	if r.errors > 0 {
		s += fmt.Sprintf(" (%d ERRORS: %s)", r.errors, r.errKinds)
	}
	return s
}

// round is one round of one kind: nginx (a1), the streamer (b), the
// -reference servers and nginx again (a2).
type round struct {
	a1, b, a2 result
	refs      []result
}

// reference is a plain Go server run with -reference.
type reference struct{ label, url string }

type wrkRunner struct {
	bin, script string
	cfg         config
}

func (w wrkRunner) run(ctx context.Context, base, list string) (result, error) {
	args := []string{
		"-t", strconv.Itoa(w.cfg.threads), "-c", strconv.Itoa(w.cfg.connections),
		"-d", strconv.Itoa(int(w.cfg.duration.Round(time.Second)/time.Second)) + "s",
		"--timeout", "10s", "--latency", "-s", w.script, base, "--", list,
	}
	cmd := exec.CommandContext(ctx, w.bin, args...)
	benchkit.SetParentDeath(cmd)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	before, cpuOK := benchkit.ReadCPU()
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("wrk: %w: %s%s", err, stderr.String(), out.String())
	}
	after, _ := benchkit.ReadCPU()
	r, err := parseWrk(out.String())
	if err != nil {
		return r, fmt.Errorf("%w in wrk's output:\n%s%s", err, out.String(), stderr.String())
	}
	if cpuOK && r.requests > 0 {
		used := after.Sub(before)
		wrk := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		r.wrkCPU = wrk / time.Duration(r.requests)
		r.serverCPU = max(used.Busy-wrk, 0) / time.Duration(r.requests)
		if all := used.Busy + used.Idle; all > 0 {
			r.idle = float64(used.Idle) / float64(all)
		}
	}
	return r, nil
}

var (
	reRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	reTransfer = regexp.MustCompile(`(?m)^Transfer/sec:\s+([0-9.]+)([KMGT]?B)`)
	reTotal    = regexp.MustCompile(`(?m)^\s*([0-9]+) requests in `)
	rePct      = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.0+)?%\s+([0-9.]+)(us|ms|s|m|h)\s*$`)
	reNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses:\s+([0-9]+)`)
	reSocket   = regexp.MustCompile(`Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
)

func parseWrk(s string) (result, error) {
	var r result
	m := reRPS.FindStringSubmatch(s)
	if m == nil {
		return r, errors.New("no Requests/sec")
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	if m = reTotal.FindStringSubmatch(s); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
	}
	if m = reTransfer.FindStringSubmatch(s); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		r.bytesPS = v * math.Pow(1024, float64(strings.Index("BKMGT", m[2][:1])))
	}
	for _, m := range rePct.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}[m[3]]
		d := time.Duration(v * float64(unit))
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if r.p99 == 0 {
		return r, errors.New("no 99% latency (was --latency given?)")
	}
	var kinds []string
	if m = reNon2xx.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		r.errors += n
		kinds = append(kinds, fmt.Sprintf("non-2xx %d", n))
	}
	if m = reSocket.FindStringSubmatch(s); m != nil {
		for i, x := range m[1:] {
			if n, _ := strconv.Atoi(x); n > 0 {
				r.errors += n
				kinds = append(kinds, fmt.Sprintf("%s %d", []string{"connect", "read", "write", "timeout"}[i], n))
			}
		}
	}
	r.errKinds = strings.Join(kinds, ", ")
	return r, nil
}

func startProfile(prefix, kind string, round int) (stop func(), err error) {
	if prefix == "" {
		return func() {}, nil
	}
	f, err := os.Create(fmt.Sprintf("%s-%s-r%d.pprof", prefix, strings.ReplaceAll(kind, " ", "-"), round))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// counters is the streamer's Metrics, reduced to what the report shows:
// the cache's hits and misses on segments.
type counters struct {
	hits, misses, evictions atomic.Int64
}

func (c *counters) CacheHit(kind string) {
	if kind == "segment" {
		c.hits.Add(1)
	}
}

func (c *counters) CacheMiss(kind string) {
	if kind == "segment" {
		c.misses.Add(1)
	}
}
func (c *counters) CacheEviction()                       { c.evictions.Add(1) }
func (c *counters) CacheBytes(int64)                     {}
func (c *counters) BytesServed(string, int64)            {}
func (c *counters) ObserveStore(string, string, float64) {}
func (c *counters) ActiveSessions(func() int)            {}
func (c *counters) reset()                               { c.hits.Store(0); c.misses.Store(0); c.evictions.Store(0) }
func (c *counters) hitRatio() (float64, bool) {
	h, m := c.hits.Load(), c.misses.Load()
	if h+m == 0 {
		return 0, false
	}
	return float64(h) / float64(h+m), true
}

func report(out io.Writer, cfg config, t *tree, res map[string][]round, refs map[string][]reference, m map[string]*counters) {
	fmt.Fprintf(out, "HLS tree: %d segments of %s–%s (mean %s), %d playlists; wrk %d threads, %d connections, %s per run, %d rounds (nginx, streamer, nginx again)\n",
		len(t.segments), mb(t.minSeg), mb(t.maxSeg), mb(t.segBytes/int64(len(t.segments))), len(t.playlists),
		cfg.threads, cfg.connections, cfg.duration, cfg.rounds)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "kind\tnginx req/s\tstreamer req/s\tx nginx\tnginx p99\tstreamer p99\tx nginx\ttarget\t\t\n")
	var noiseRPS, noiseP99 []float64
	var cpuLines []string
	totalErrors := 0
	for _, k := range cfg.kinds {
		rounds := res[k.name]
		var aRPS, aP99, bRPS, bP99, rRPS, rP99 []float64
		for _, rd := range rounds {
			for _, a := range []result{rd.a1, rd.a2} {
				aRPS, aP99 = append(aRPS, a.rps), append(aP99, float64(a.p99))
			}
			bRPS, bP99 = append(bRPS, rd.b.rps), append(bP99, float64(rd.b.p99))
			// Each streamer run against the mean of the nginx runs around it.
			baseRPS, baseP99 := (rd.a1.rps+rd.a2.rps)/2, float64(rd.a1.p99+rd.a2.p99)/2
			rRPS, rP99 = append(rRPS, rd.b.rps/baseRPS), append(rP99, float64(rd.b.p99)/baseP99)
			noiseRPS = append(noiseRPS, rd.a2.rps/rd.a1.rps)
			noiseP99 = append(noiseP99, float64(rd.a2.p99)/float64(rd.a1.p99))
			totalErrors += rd.a1.errors + rd.a2.errors + rd.b.errors
			for _, c := range rd.refs {
				totalErrors += c.errors
			}
		}
		var aCPU, aWrk, bCPU, bWrk []float64
		for _, rd := range rounds {
			for _, a := range []result{rd.a1, rd.a2} {
				aCPU, aWrk = append(aCPU, float64(a.serverCPU)), append(aWrk, float64(a.wrkCPU))
			}
			bCPU, bWrk = append(bCPU, float64(rd.b.serverCPU)), append(bWrk, float64(rd.b.wrkCPU))
		}
		if benchkit.Median(aCPU) > 0 {
			us := func(xs []float64) string { return benchkit.Dur(time.Duration(benchkit.Median(xs))) }
			cpuLines = append(cpuLines, fmt.Sprintf("cpu per request, %s (medians): nginx side %s + wrk %s; streamer side %s + wrk %s",
				k.name, us(aCPU), us(aWrk), us(bCPU), us(bWrk)))
		}
		xr, xp := benchkit.Median(rRPS), benchkit.Median(rP99)
		target, verdict := "none (information)", "-"
		switch k.name {
		case "segments warm":
			target = fmt.Sprintf(">= %.2fx req/s, p99 <= %.2fx", targetSegmentRPS, targetSegmentP99)
			verdict = benchkit.OkMissed(xr >= targetSegmentRPS && xp <= targetSegmentP99)
		case "playlists warm":
			target = fmt.Sprintf(">= %.2fx req/s", targetPlaylist)
			verdict = benchkit.OkMissed(xr >= targetPlaylist)
		}
		for _, rd := range rounds {
			if rd.b.errors > 0 {
				verdict = "MISSED (errors)"
			}
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2fx\t%s\t%s\t%.2fx\t%s\t%s\t\n", k.name, benchkit.Median(aRPS), benchkit.Median(bRPS), xr,
			benchkit.Dur(time.Duration(benchkit.Median(aP99))), benchkit.Dur(time.Duration(benchkit.Median(bP99))), xp, target, verdict)
		if k.cold {
			continue
		}
		for i, ref := range refs[k.list] {
			var cr, cp, xcr, xcp []float64
			for _, rd := range rounds {
				c := rd.refs[i]
				baseRPS, baseP99 := (rd.a1.rps+rd.a2.rps)/2, float64(rd.a1.p99+rd.a2.p99)/2
				cr, cp = append(cr, c.rps), append(cp, float64(c.p99))
				xcr, xcp = append(xcr, c.rps/baseRPS), append(xcp, float64(c.p99)/baseP99)
			}
			fmt.Fprintf(tw, "ref: %s\t\t%.0f\t%.2fx\t\t%s\t%.2fx\treference\t\t\n", ref.label, benchkit.Median(cr), benchkit.Median(xcr),
				benchkit.Dur(time.Duration(benchkit.Median(cp))), benchkit.Median(xcp))
		}
	}
	tw.Flush()
	fmt.Fprintf(out, "x nginx: median over the rounds of each streamer run against the mean of the two nginx runs around it; req/s and p99 columns are medians.\n")
	lo, hi := slices.Min(noiseRPS), slices.Max(noiseRPS)
	plo, phi := slices.Min(noiseP99), slices.Max(noiseP99)
	fmt.Fprintf(out, "noise, nginx against itself (second nginx run / first, %d pairs): req/s %.2fx–%.2fx (±%.0f%%), p99 %.2fx–%.2fx (±%.0f%%)\n",
		len(noiseRPS), lo, hi, 100*max(1-lo, hi-1), plo, phi, 100*max(1-plo, phi-1))
	for _, l := range cpuLines {
		fmt.Fprintln(out, l)
	}
	fmt.Fprintf(out, "streamer connections: TCP_NOTSENT_LOWAT %d bytes (-unsent-limit; 0 is the kernel's default)\n", cfg.unsentLimit)
	for _, name := range []string{"segments warm", "segments cold"} {
		if r, ok := m[name].hitRatio(); ok {
			fmt.Fprintf(out, "streamer cache, %s: %.0f%% of segment requests served from memory\n", name, 100*r)
		}
	}
	if totalErrors > 0 {
		fmt.Fprintf(out, "ERRORS: %d non-2xx answers or socket errors in all (see the per-round lines)\n", totalErrors)
	}
}

func mb(n int64) string { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }
