// Command catalog benchmarks GET /api/videos on the SQLite store against a
// bare net/http handler that returns a fixed JSON body of the same size,
// both measured in the same run, over real TCP on 127.0.0.1.
//
//	go run ./bench/catalog [-videos 10000] [-clients 64] [-requests 20000]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/ginflix/ginflix/api"
	"github.com/ginflix/ginflix/bench/internal/synth"
	"github.com/ginflix/ginflix/filesystem"
	"github.com/ginflix/ginflix/prometheus"
	"github.com/ginflix/ginflix/sqlite"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func seed(ctx context.Context, db *sqlite.DB, n int) error {
	return synth.Seed(ctx, db, n, 61*time.Minute, nil)
}

type result struct {
	name      string
	requests  int
	errors    int64
	elapsed   time.Duration
	latencies []time.Duration
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r result) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, int(q*float64(len(r.latencies))))]
}

// load sends requests from clients goroutines until total are done or the
// time bound passes, and records each latency.
func load(name string, client *http.Client, clients, total int, limit time.Duration, urlFor func(i int) string) result {
	var (
		next   atomic.Int64
		errs   atomic.Int64
		mu     sync.Mutex
		lat    = make([]time.Duration, 0, total)
		wg     sync.WaitGroup
		start  = time.Now()
		cutoff = start.Add(limit)
	)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, total/clients+1)
			for {
				i := int(next.Add(1))
				if i > total || time.Now().After(cutoff) {
					break
				}
				t0 := time.Now()
				res, err := client.Get(urlFor(i))
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return result{name: name, requests: len(lat), errors: errs.Load(), elapsed: time.Since(start), latencies: lat}
}

func serveOn(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

func run() error {
	videos := flag.Int("videos", 10000, "videos in the catalogue")
	clients := flag.Int("clients", 64, "concurrent clients")
	requests := flag.Int("requests", 20000, "requests per scenario")
	limit := flag.Duration("max-time", 60*time.Second, "time bound per scenario")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the API scenarios to this file")
	cacheTTL := flag.Duration("cache-ttl", 2*time.Second, "the API's catalogue cache TTL, as GINFLIX_CATALOG_CACHE_TTL")
	flag.Parse()
	ctx := context.Background()
	var stops []func()

	dir, err := os.MkdirTemp("", "ginflix-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "ginflix.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	objects, err := filesystem.New(filepath.Join(dir, "objects"))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seeding %d videos into SQLite...\n", *videos)
	if err := seed(ctx, db, *videos); err != nil {
		return err
	}
	newAPI := func(ttl time.Duration) (string, error) {
		u, stop, err := serveOn(api.NewServer(api.Deps{
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: db, Objects: objects,
			Metrics: prometheus.New("bench"), Version: "bench", CatalogCacheTTL: ttl,
			// Anonymous reads (GINFLIX_PUBLIC_CATALOG): this measures the
			// catalogue path; token verification is the oidc package's.
			PublicCatalog: true,
		}))
		if err == nil {
			stops = append(stops, stop)
		}
		return u, err
	}
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	apiURL, err := newAPI(*cacheTTL)
	if err != nil {
		return err
	}
	uncachedURL, err := newAPI(0)
	if err != nil {
		return err
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: *clients * 2, MaxIdleConnsPerHost: *clients * 2}}
	res, err := client.Get(apiURL + "/api/videos")
	if err != nil {
		return err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		return fmt.Errorf("warm-up listing: %d %v", res.StatusCode, err)
	}
	// The baseline does the least a Go server can: a fixed body of the
	// same size, same headers, through the same net/http stack.
	bareURL, stopBare, err := serveOn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(body)
	}))
	if err != nil {
		return err
	}
	defer stopBare()

	fmt.Fprintf(os.Stderr, "listing body: %d bytes; %d clients, %d requests per scenario\n", len(body), *clients, *requests)
	results := []result{
		load("bare net/http, fixed JSON", client, *clients, *requests, *limit, func(int) string { return bareURL + "/" }),
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	queries := synth.Searches(rand.New(rand.NewPCG(3, 4)))
	for _, target := range []struct{ label, url string }{
		{fmt.Sprintf("cache %s", *cacheTTL), apiURL},
		{"no cache", uncachedURL},
	} {
		u := target.url
		results = append(results,
			load("plain listing, "+target.label, client, *clients, *requests, *limit, func(int) string { return u + "/api/videos" }),
			load(fmt.Sprintf("search (%d queries), %s", len(queries), target.label), client, *clients, *requests, *limit, func(i int) string {
				return u + "/api/videos?q=" + url.QueryEscape(queries[i%len(queries)])
			}),
			load("category by title, "+target.label, client, *clients, *requests, *limit, func(i int) string {
				return u + "/api/videos?sort=title&category=" + url.QueryEscape(synth.Categories[i%len(synth.Categories)])
			}),
		)
	}
	base := results[0].rps()
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "scenario\trequests\terrors\treq/s\tp50\tp99\tx bare req/s\ttarget\t\n")
	for i, r := range results {
		verdict := "baseline"
		if i > 0 {
			verdict = "ok"
			if r.quantile(0.99) >= 25*time.Millisecond || r.rps() < 0.25*base || r.errors > 0 {
				verdict = "MISSED"
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t%.2fx\t%s\t\n", r.name, r.requests, r.errors, r.rps(),
			r.quantile(0.5).Round(10*time.Microsecond), r.quantile(0.99).Round(10*time.Microsecond), r.rps()/base, verdict)
	}
	tw.Flush()
	fmt.Println("target: p99 < 25ms and >= 0.25x the bare handler's req/s; all API scenarios are GET /api/videos")
	return nil
}
