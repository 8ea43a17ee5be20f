// Command events benchmarks the playback-events API under the load issue 8
// names: 500 simulated player sessions posting event batches to
// POST /api/playback/events, while a fixed audience browses the catalogue.
// It measures the catalogue's p99 without that load (phase A) and with it
// (phase B), alternately, in the same run, against one real api.NewServer
// over TCP on 127.0.0.1: SQLite store, OIDC token verification, playback
// signer. The API, the players and the catalogue readers are three
// processes (this command runs itself for the first two), so that the
// load generator never shares the server's Go scheduler.
//
//	go run ./bench/events [-sessions 500] [-duration 60s] [-baseline 20s] [-rounds 2] [-speed 10]
//
// It prints events/s accepted, batches/s, the POST latencies, the
// catalogue p99 under load against unloaded with the target verdict
// (<= 1.5x), and checks through the admin analytics API that the sessions'
// views were counted, so that it cannot silently measure an endpoint that
// refuses everything.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/ginflix/ginflix/bench/internal/benchkit"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/api"
	"github.com/ginflix/ginflix/bench/internal/synth"
	"github.com/ginflix/ginflix/oidc/oidctest"
	"github.com/ginflix/ginflix/sqlite"
)

// targetRatio is issue 8's: catalogue p99 under load <= 1.5x unloaded.
const targetRatio = 1.5

// playerInterval is the player's regular flush period (web/src/common/
// playbackEvents.ts): a batch, with its heartbeat, every 10 s of playback.
const playerInterval = 10 * time.Second

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	sessions       int
	duration       time.Duration
	baseline       time.Duration
	rounds         int
	videos         int
	speed          float64
	catalogClients int
	catalogRate    float64
	cacheTTL       time.Duration
	ratePerMinute  float64
	viewThreshold  time.Duration
	cpuprofile     string
	tick           time.Duration // wall time between two regular batches
}

func run() error {
	var cfg config
	flag.IntVar(&cfg.sessions, "sessions", 500, "concurrent simulated player sessions in phase B")
	flag.DurationVar(&cfg.duration, "duration", 60*time.Second, "length of each loaded phase (B)")
	flag.DurationVar(&cfg.baseline, "baseline", 20*time.Second, "length of each unloaded phase (A)")
	flag.IntVar(&cfg.rounds, "rounds", 2, "rounds of A then B; medians are reported")
	flag.IntVar(&cfg.videos, "videos", 10000, "videos in the catalogue")
	flag.Float64Var(&cfg.speed, "speed", 10, "player time per wall time: 10 sends a session's 10 s batch every 1 s")
	flag.IntVar(&cfg.catalogClients, "catalog-clients", 16, "catalogue readers (signed-in users browsing)")
	flag.Float64Var(&cfg.catalogRate, "catalog-rate", 100, "catalogue requests per second, all readers together (a fixed rate)")
	flag.DurationVar(&cfg.cacheTTL, "cache-ttl", 2*time.Second, "the API's catalogue cache TTL, as GINFLIX_CATALOG_CACHE_TTL")
	flag.Float64Var(&cfg.ratePerMinute, "rate-limit", 0, "event batches per user and minute (GINFLIX_PLAYBACK_EVENTS_PER_MINUTE); 0: twice what a session sends at -speed")
	flag.DurationVar(&cfg.viewThreshold, "view-threshold", 0, "watched time that counts a view (GINFLIX_VIEW_THRESHOLD); 0: the default 10 s of player time, divided by -speed")
	flag.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile of the API server in each loaded phase to FILE-r<round>.pprof")
	// The child processes' flags: this command runs itself as the API
	// server and as the players.
	child := flag.String("child", "", "internal: serve or players")
	dir := flag.String("dir", "", "internal: the run's directory")
	issuer := flag.String("issuer", "", "internal: the OIDC issuer URL")
	audience := flag.String("audience", "", "internal: the tokens' audience")
	apiURL := flag.String("api", "", "internal: the API's URL")
	round := flag.Int("round", 0, "internal: the round, which seeds the players")
	flag.Parse()
	if cfg.sessions < 1 || cfg.rounds < 1 || cfg.speed <= 0 || cfg.catalogClients < 1 || cfg.catalogRate <= 0 || cfg.videos < 1 {
		return errors.New("-sessions, -rounds, -speed, -catalog-clients, -catalog-rate and -videos must be positive")
	}
	cfg.tick = time.Duration(float64(playerInterval) / cfg.speed)
	if cfg.ratePerMinute == 0 {
		// Twice the regular rate: the start and end batches are sent at
		// once (as the web player does) and come on top of the regular
		// ones, and a late goroutine may send two close together.
		cfg.ratePerMinute = 2 * float64(time.Minute) / float64(cfg.tick)
	}
	if cfg.viewThreshold == 0 {
		// Watch time is credited in wall time (the lesser of the time that
		// passed and the position's advance), so at 10x a view needs 1 s.
		cfg.viewThreshold = time.Duration(float64(ginflix.DefaultViewThreshold) / cfg.speed)
	}
	switch *child {
	case "serve":
		return serveChild(*dir, *issuer, *audience, cfg.cacheTTL, cfg.ratePerMinute, cfg.viewThreshold)
	case "players":
		return playersChild(*dir, *apiURL, cfg, *round)
	case "":
		return orchestrate(cfg)
	}
	return fmt.Errorf("unknown -child %q", *child)
}

func orchestrate(cfg config) error {
	ctx := context.Background()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ginflix-bench-events-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// Seeded here, then closed: the API server process opens the file.
	db, err := sqlite.Open(ctx, filepath.Join(dir, "ginflix.db"))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seeding %d videos into SQLite...\n", cfg.videos)
	t0 := time.Now()
	videos, err := seed(ctx, db, cfg.videos)
	db.Close()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  %d published videos in %s\n", len(videos), time.Since(t0).Round(time.Millisecond))

	// The repository's test issuer, over HTTP on 127.0.0.1, and in the API
	// server the production verifier fetching its discovery and JWKS:
	// every request carries an RS256 token that is really verified, as
	// with Keycloak or the built-in provider (also RS256).
	t := &fakeTB{}
	defer t.cleanup()
	iss := oidctest.NewIssuer(t)
	// Tokens outlive the run (the issuer's default is five minutes): a
	// long run must not start measuring 401s.
	exp := time.Now().Add(time.Duration(cfg.rounds)*(cfg.duration+cfg.baseline) + 30*time.Minute).Unix()
	mint := func(sub, role string) string {
		c := iss.Claims(sub, role)
		c["exp"] = exp
		return iss.Sign(c)
	}
	fmt.Fprintf(os.Stderr, "minting %d viewer tokens...\n", cfg.sessions+cfg.catalogClients)
	in := playerInput{Videos: videos}
	for i := range cfg.sessions {
		in.Tokens = append(in.Tokens, mint(fmt.Sprintf("bench-viewer-%04d", i), ginflix.RoleViewer))
	}
	readers := make([]string, cfg.catalogClients)
	for i := range readers {
		readers[i] = mint(fmt.Sprintf("bench-reader-%03d", i), ginflix.RoleViewer)
	}
	adminToken := mint("bench-admin", ginflix.RoleAdmin)
	raw, _ := json.Marshal(in)
	if err := os.WriteFile(filepath.Join(dir, "players.json"), raw, 0o600); err != nil {
		return err
	}

	srv, err := startServer(exe, dir, cfg, iss.URL, iss.Audience)
	if err != nil {
		return err
	}
	defer srv.stop()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: cfg.catalogClients * 2, MaxIdleConnsPerHost: cfg.catalogClients * 2}}
	cat, err := warmUp(ctx, srv.url, client, readers[0], in.Tokens[0], videos[0].ID)
	if err != nil {
		return err
	}
	cat.queries = synth.Searches(rand.New(rand.NewPCG(3, 4)))
	rd := &readerPool{cfg: cfg, url: srv.url, tokens: readers, client: client, cat: cat}

	fmt.Fprintf(os.Stderr, "A: %d catalogue readers at %.0f req/s in all, %s; B: the same plus %d player sessions at %gx (a batch every %s), %s; %d rounds\n",
		cfg.catalogClients, cfg.catalogRate, cfg.baseline, cfg.sessions, cfg.speed, cfg.tick, cfg.duration, cfg.rounds)
	fmt.Fprintf(os.Stderr, "rate limit %.0f batches/min per user (burst %d), view threshold %s\n", cfg.ratePerMinute, api.DefaultBatchBurst, cfg.viewThreshold)
	uptimeBefore := benchkit.Uptime()
	fmt.Fprintf(os.Stderr, "uptime before: %s\n", uptimeBefore)
	if l, ok := benchkit.Load1(); ok && l > float64(runtime.NumCPU()) {
		fmt.Fprintf(os.Stderr, "warning: a load average of %.1f on %d cores: something else is running, the ratios will be noisy\n", l, runtime.NumCPU())
	}

	var rounds []roundResult
	for r := 1; r <= cfg.rounds; r++ {
		var res roundResult
		cw := watchCPU(srv.procs)
		res.a = rd.run(ctx, cfg.baseline)
		res.a.cpu = cw.end(0)
		fmt.Fprintf(os.Stderr, "round %d/%d A unloaded: catalogue %s\n", r, cfg.rounds, res.a)

		prof := ""
		if cfg.cpuprofile != "" {
			prof = fmt.Sprintf("%s-r%d.pprof", strings.TrimSuffix(cfg.cpuprofile, ".pprof"), r)
			if prof, err = filepath.Abs(prof); err != nil {
				return err
			}
			srv.profile(prof)
		}
		pp, err := startPlayers(exe, dir, srv.url, cfg, r)
		if err != nil {
			return err
		}
		cw = watchCPU(srv.procs, pp.stat)
		res.b = rd.run(ctx, cfg.duration)
		if res.load, err = pp.wait(); err != nil {
			return err
		}
		res.b.cpu = cw.end(res.load.CPU)
		if prof != "" {
			srv.stopProfile()
			fmt.Fprintf(os.Stderr, "API server CPU profile: %s\n", prof)
		}
		fmt.Fprintf(os.Stderr, "round %d/%d B loaded:   catalogue %s | events %s\n", r, cfg.rounds, res.b, res.load.summary(cfg.duration))
		rounds = append(rounds, res)
	}
	failures := report(os.Stdout, cfg, rounds)
	failures = append(failures, checkViews(ctx, os.Stdout, srv.url, client, adminToken, rounds)...)
	fmt.Printf("uptime before: %s\nuptime after:  %s\n", uptimeBefore, benchkit.Uptime())
	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintln(os.Stderr, "FAILED:", f)
		}
		return errors.New("the events endpoint did not take the load as a real one would: the figures above do not measure it")
	}
	return nil
}

// fakeTB lets oidctest, written for tests, run in a command: embedding
// testing.TB satisfies the interface (its unexported method included);
// oidctest only calls the methods defined here.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

func (t *fakeTB) Helper()                        {}
func (t *fakeTB) Fatal(args ...any)              { panic(fmt.Sprint(args...)) }
func (t *fakeTB) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
func (t *fakeTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *fakeTB) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// catalogue is what the readers ask for.
type catalogue struct {
	cursor  string // of the listing's second page
	queries []string
}

// warmUp checks each endpoint answers as it should before anything is
// measured (discovery and JWKS are fetched on the first token), and gets
// the listing's cursor.
func warmUp(ctx context.Context, base string, c *http.Client, readerToken, playerToken, videoID string) (*catalogue, error) {
	var list struct {
		Items []json.RawMessage `json:"items"`
		Next  string            `json:"next"`
	}
	if status, err := call(ctx, c, "GET", base+"/api/videos", readerToken, nil, &list); err != nil || status != 200 || len(list.Items) == 0 {
		return nil, fmt.Errorf("warm-up listing: status %d, %d items: %v", status, len(list.Items), err)
	}
	var pb playbackAnswer
	if status, err := call(ctx, c, "POST", base+"/api/videos/"+videoID+"/playback", playerToken, nil, &pb); err != nil || status != 200 || pb.Session == "" {
		return nil, fmt.Errorf("warm-up playback: status %d: %v", status, err)
	}
	body, _ := json.Marshal(batchJSON{Session: pb.Session, Events: []eventJSON{{Type: string(ginflix.EventStart), At: stamp(time.Now()), Position: 0, Rung: "720p", Value: 800}}})
	var out eventsAnswer
	if status, err := call(ctx, c, "POST", base+"/api/playback/events", playerToken, body, &out); err != nil || status != 202 || out.Accepted != 1 {
		return nil, fmt.Errorf("warm-up events: status %d, %+v: %v", status, out, err)
	}
	return &catalogue{cursor: list.Next}, nil
}

type playbackAnswer struct {
	URL     string   `json:"url"`
	Session string   `json:"session"`
	Error   apiError `json:"error"`
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type eventsAnswer struct {
	Accepted    int      `json:"accepted"`
	Ignored     int      `json:"ignored"`
	ViewCounted bool     `json:"viewCounted"`
	Error       apiError `json:"error"`
}

// eventJSON is the player's event (web/src/common/playbackEvents.ts).
type eventJSON struct {
	Type     string  `json:"type"`
	At       string  `json:"at"`
	Position float64 `json:"position"`
	Rung     string  `json:"rung,omitempty"`
	Value    float64 `json:"value,omitempty"`
	Detail   string  `json:"detail,omitempty"`
}

type batchJSON struct {
	Session string      `json:"session"`
	Events  []eventJSON `json:"events"`
}

// stamp writes a time as the player does (toISOString: milliseconds, Z).
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// call sends one request and decodes a JSON answer into out (any status).
func call(ctx context.Context, c *http.Client, method, u, token string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, err
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: %d %q: %w", method, u, res.StatusCode, raw, err)
		}
	}
	return res.StatusCode, nil
}

type readResult struct {
	requests, errors, late int
	elapsed                time.Duration
	latencies              []time.Duration            // sorted
	byKind                 map[string][]time.Duration // sorted
	cpu                    cpuUse
}

func (r readResult) quantile(q float64) time.Duration { return quantile(r.latencies, q) }

func (r readResult) String() string {
	var kinds []string
	for _, k := range catalogKinds {
		kinds = append(kinds, fmt.Sprintf("%s %s", k, benchkit.Dur(quantile(r.byKind[k], 0.99))))
	}
	return fmt.Sprintf("%d req (%.0f/s), p50 %s, p99 %s (%s), %d errors, %d late; %s", r.requests, float64(r.requests)/r.elapsed.Seconds(),
		benchkit.Dur(r.quantile(0.5)), benchkit.Dur(r.quantile(0.99)), strings.Join(kinds, ", "), r.errors, r.late, r.cpu)
}

// readerPool is the catalogue's audience.
type readerPool struct {
	cfg    config
	url    string
	tokens []string // one user each
	client *http.Client
	cat    *catalogue
	seq    atomic.Uint64 // seeds of the readers' generators
}

// run has the readers browse for d at a fixed rate, not as fast as they
// can: a closed loop would slow itself down when the API slows, and would
// measure the throughput left rather than what the audience waits for.
// Each reader keeps its own schedule; a request that cannot start on time
// (the previous one still running) starts at once and counts as late.
func (w *readerPool) run(ctx context.Context, d time.Duration) readResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	n := w.cfg.catalogClients
	every := time.Duration(float64(n) / w.cfg.catalogRate * float64(time.Second))
	var (
		mu  sync.Mutex
		res = readResult{byKind: map[string][]time.Duration{}}
		wg  sync.WaitGroup
	)
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(w.seq.Add(1), 7))
			token := w.tokens[i]
			next := start.Add(time.Duration(r.Int64N(int64(every)))) // spread the readers' phases
			var lat []time.Duration
			byKind := map[string][]time.Duration{}
			errs, late := 0, 0
			for {
				now := time.Now()
				if wait := next.Sub(now); wait > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(wait):
					}
				} else if -wait > every/2 {
					late++
				}
				if ctx.Err() != nil {
					break
				}
				next = next.Add(every)
				kind, path := w.catalogPath(r)
				t0 := time.Now()
				status, err := call(context.WithoutCancel(ctx), w.client, "GET", w.url+path, token, nil, nil)
				if err != nil || status != 200 {
					errs++
					continue
				}
				d := time.Since(t0)
				lat = append(lat, d)
				byKind[kind] = append(byKind[kind], d)
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			for k, l := range byKind {
				res.byKind[k] = append(res.byKind[k], l...)
			}
			res.errors += errs
			res.late += late
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.requests = len(res.latencies)
	slices.Sort(res.latencies)
	for _, l := range res.byKind {
		slices.Sort(l)
	}
	return res
}

// catalogKinds are the kinds of catalogPath, in the order printed.
var catalogKinds = []string{"listing", "page 2", "search", "category"}

// catalogPath is one browsing request: the home page's listing, its next
// page, a search as typed, or a category by title. The listings are
// mostly cache hits, the searches mostly store queries.
func (w *readerPool) catalogPath(r *rand.Rand) (kind, path string) {
	switch x := r.Float64(); {
	case x < 0.4:
		return "listing", "/api/videos"
	case x < 0.5 && w.cat.cursor != "":
		return "page 2", "/api/videos?cursor=" + url.QueryEscape(w.cat.cursor)
	case x < 0.8:
		return "search", "/api/videos?q=" + url.QueryEscape(w.cat.queries[r.IntN(len(w.cat.queries))])
	default:
		return "category", "/api/videos?sort=title&category=" + url.QueryEscape(synth.Categories[r.IntN(len(synth.Categories))])
	}
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

type roundResult struct {
	a, b readResult
	load *loadReport
}

func report(out io.Writer, cfg config, rounds []roundResult) []string {
	var failures []string
	var aP50, aP99, bP50, bP99, ratios, aRPS, bRPS []float64
	var evps, bps []float64
	var post, starts []time.Duration
	var sent, accepted, ignored, refused, batches, rejected, terr, sessions int64
	codes, messages := map[string]int{}, map[string]string{}
	readErrors, late := 0, 0
	for _, rd := range rounds {
		aP50, aP99 = append(aP50, float64(rd.a.quantile(0.5))), append(aP99, float64(rd.a.quantile(0.99)))
		bP50, bP99 = append(bP50, float64(rd.b.quantile(0.5))), append(bP99, float64(rd.b.quantile(0.99)))
		aRPS, bRPS = append(aRPS, float64(rd.a.requests)/rd.a.elapsed.Seconds()), append(bRPS, float64(rd.b.requests)/rd.b.elapsed.Seconds())
		ratios = append(ratios, float64(rd.b.quantile(0.99))/float64(rd.a.quantile(0.99)))
		readErrors += rd.a.errors + rd.b.errors
		late += rd.a.late + rd.b.late
		l := rd.load
		evps = append(evps, float64(l.Accepted)/cfg.duration.Seconds())
		bps = append(bps, float64(l.Batches)/cfg.duration.Seconds())
		post, starts = append(post, l.PostLat...), append(starts, l.StartLat...)
		sent, accepted, ignored, refused = sent+l.Sent, accepted+l.Accepted, ignored+l.Ignored, refused+l.Refused
		batches, rejected, terr, sessions = batches+l.Batches, rejected+l.rejectedBatches(), terr+l.TransportError, sessions+l.Sessions
		for k, n := range l.Codes {
			codes[k] += n
			messages[k] = l.Messages[k]
		}
	}
	slices.Sort(post)
	slices.Sort(starts)
	fmt.Fprintf(out, "catalogue: %d readers at %.0f req/s in all (listing, next page, search, category), cache %s; "+
		"load: %d sessions at %gx, a batch every %s, rate limit %.0f batches/min per user; %d rounds of %s unloaded then %s loaded\n",
		cfg.catalogClients, cfg.catalogRate, cfg.cacheTTL, cfg.sessions, cfg.speed, cfg.tick, cfg.ratePerMinute, len(rounds), cfg.baseline, cfg.duration)
	ratio := benchkit.Median(ratios)
	verdict := benchkit.OkMissed(ratio <= targetRatio)
	if readErrors > 0 {
		verdict = "MISSED (errors)"
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "catalogue reads\treq/s\tp50\tp99\tx unloaded p99\ttarget\t\t\n")
	fmt.Fprintf(tw, "A unloaded\t%.0f\t%s\t%s\tbaseline\t\t\t\n", benchkit.Median(aRPS), benchkit.Dur(time.Duration(benchkit.Median(aP50))), benchkit.Dur(time.Duration(benchkit.Median(aP99))))
	fmt.Fprintf(tw, "B with %d sessions\t%.0f\t%s\t%s\t%.2fx\t<= %.1fx\t%s\t\n", cfg.sessions, benchkit.Median(bRPS), benchkit.Dur(time.Duration(benchkit.Median(bP50))),
		benchkit.Dur(time.Duration(benchkit.Median(bP99))), ratio, targetRatio, verdict)
	tw.Flush()
	var per []string
	for i, x := range ratios {
		per = append(per, fmt.Sprintf("r%d %.2fx", i+1, x))
	}
	fmt.Fprintf(out, "x unloaded p99: median over the rounds of B's p99 / A's p99 of the same round (%s); req/s and latency columns are medians\n", strings.Join(per, ", "))
	var kinds []string
	for _, k := range catalogKinds {
		var a, b []float64
		for _, rd := range rounds {
			a, b = append(a, float64(quantile(rd.a.byKind[k], 0.99))), append(b, float64(quantile(rd.b.byKind[k], 0.99)))
		}
		kinds = append(kinds, fmt.Sprintf("%s %s -> %s", k, benchkit.Dur(time.Duration(benchkit.Median(a))), benchkit.Dur(time.Duration(benchkit.Median(b)))))
	}
	fmt.Fprintf(out, "catalogue p99 by request, A -> B (medians): %s\n", strings.Join(kinds, ", "))
	if readErrors > 0 || late > 0 {
		fmt.Fprintf(out, "catalogue: %d errors, %d requests started late (the reader's previous request still running)\n", readErrors, late)
	}
	for _, ph := range []struct {
		name string
		get  func(roundResult) cpuUse
	}{{"A", func(rd roundResult) cpuUse { return rd.a.cpu }}, {"B", func(rd roundResult) cpuUse { return rd.b.cpu }}} {
		var c cpuUse
		var sv, pl, rr, ot []float64
		for i, rd := range rounds {
			u := ph.get(rd)
			if !u.ok {
				continue
			}
			sv, pl, rr, ot = append(sv, u.server), append(pl, u.players), append(rr, u.readers), append(ot, u.others)
			c.peak, c.busy, c.ticks = max(c.peak, u.peak), c.busy+u.busy, c.ticks+u.ticks
			// 1% of a phase is a fraction of a second: a burst elsewhere
			// that long is enough to make its p99.
			if u.others > 0.25 || u.busy > 0 {
				fmt.Fprintf(out, "warning: other processes kept %.2f cores busy in round %d, phase %s, above half a core in %d half-seconds: that round's p99 is noisy\n",
					u.others, i+1, ph.name, u.busy)
			}
		}
		if len(sv) > 0 {
			c.server, c.players, c.readers, c.others, c.ok = benchkit.Median(sv), benchkit.Median(pl), benchkit.Median(rr), benchkit.Median(ot), true
		}
		fmt.Fprintf(out, "phase %s, %s (medians; peak and counts over the rounds)\n", ph.name, c)
	}
	fmt.Fprintf(out, "events: %.0f/s accepted, %.0f batches/s (medians over the rounds); POST /api/playback/events p50 %s p99 %s; "+
		"POST /api/videos/{id}/playback p99 %s (%d sessions)\n",
		benchkit.Median(evps), benchkit.Median(bps), benchkit.Dur(quantile(post, 0.5)), benchkit.Dur(quantile(post, 0.99)), benchkit.Dur(quantile(starts, 0.99)), sessions)
	fmt.Fprintf(out, "events in all: %d sent, %d accepted, %d ignored, %d in refused batches; batches: %d sent, %d refused, %d transport errors %v\n",
		sent, accepted, ignored, refused, batches, rejected, terr, codes)
	for k, m := range messages {
		if m != "" {
			fmt.Fprintf(out, "  %s, e.g.: %s\n", k, m)
		}
	}
	// Any refusal means the bench is not sending what a player would
	// (rate limit, clock bounds, validation): its figures would measure
	// the fast path of a refusal, not the work of taking events.
	if batches == 0 || float64(rejected+terr) > 0.01*float64(batches) {
		failures = append(failures, fmt.Sprintf("%d of %d batches refused or failed (%v)", rejected+terr, batches, codes))
	}
	if ignored > 0 {
		failures = append(failures, fmt.Sprintf("%d events ignored as replays: the bench's clock is off", ignored))
	}
	return failures
}

// checkViews asks the admin analytics API for the views counted, and
// compares them with what the players were told and what they earned.
func checkViews(ctx context.Context, out io.Writer, base string, c *http.Client, token string, rounds []roundResult) []string {
	var told, eligible, sessions int64
	for _, rd := range rounds {
		told, eligible, sessions = told+rd.load.Viewed, eligible+rd.load.Eligible, sessions+rd.load.Sessions
	}
	var ov struct {
		ViewersNow int64 `json:"viewersNow"`
		Periods    map[string]struct {
			Views         int64   `json:"views"`
			WatchSeconds  float64 `json:"watchSeconds"`
			UniqueViewers int64   `json:"uniqueViewers"`
		} `json:"periods"`
	}
	status, err := call(ctx, c, "GET", base+"/api/admin/analytics/overview", token, nil, &ov)
	if err != nil || status != 200 {
		return []string{fmt.Sprintf("GET /api/admin/analytics/overview: status %d: %v", status, err)}
	}
	p := ov.Periods["7d"]
	fmt.Fprintf(out, "views counted (analytics API, 7 days): %d of %d sessions; %d answers said viewCounted; %d sessions watched past the threshold; "+
		"%d unique viewers, %.0f s watched, %d viewers now\n", p.Views, sessions, told, eligible, p.UniqueViewers, p.WatchSeconds, ov.ViewersNow)
	var failures []string
	if p.Views != told {
		failures = append(failures, fmt.Sprintf("the analytics API counts %d views, the answers said %d", p.Views, told))
	}
	if p.Views < eligible || p.Views*2 < sessions {
		failures = append(failures, fmt.Sprintf("only %d views counted for %d sessions (%d watched past the threshold)", p.Views, sessions, eligible))
	}
	return failures
}
