package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/bench/internal/benchkit"
)

// playerInput is what the parent writes for the players' process.
type playerInput struct {
	Tokens []string   `json:"tokens"` // one per session slot: one user each
	Videos []videoRec `json:"videos"` // published, most popular first
}

type videoRec struct {
	ID       string  `json:"id"`
	Duration float64 `json:"duration"`
}

// loadReport is what the players' process tells the parent of one phase.
type loadReport struct {
	Sessions, Ended, Viewed, Eligible  int64
	Batches, BatchesOK, TransportError int64
	Sent, Accepted, Ignored, Refused   int64
	Codes                              map[string]int    // refused batches by status and error code
	Messages                           map[string]string // the first message of each
	PostLat, StartLat                  []time.Duration   // events POSTs; POST /api/videos/{id}/playback
	CPU                                time.Duration     // the process's user + system time
}

func (l *loadReport) rejectedBatches() int64 { return l.Batches - l.BatchesOK }

func (l *loadReport) summary(d time.Duration) string {
	post := slices.Sorted(slices.Values(l.PostLat))
	return fmt.Sprintf("%.0f accepted/s, %.0f batches/s, POST p99 %s, %d sessions, %d refused batches %v",
		float64(l.Accepted)/d.Seconds(), float64(l.Batches)/d.Seconds(), benchkit.Dur(quantile(post, 0.99)),
		l.Sessions, l.rejectedBatches(), l.Codes)
}

// playersProc is the players' process of one loaded phase.
type playersProc struct {
	cmd  *exec.Cmd
	out  *bufio.Reader
	stat string // its /proc/<pid>/stat
}

// startPlayers starts the players' process and returns once its sessions
// begin.
func startPlayers(exe, dir, apiURL string, cfg config, round int) (*playersProc, error) {
	cmd := exec.Command(exe, "-child", "players", "-dir", dir, "-api", apiURL, "-sessions", fmt.Sprint(cfg.sessions),
		"-duration", cfg.duration.String(), "-speed", fmt.Sprint(cfg.speed), "-view-threshold", cfg.viewThreshold.String(),
		"-round", fmt.Sprint(round))
	cmd.Stderr = os.Stderr
	benchkit.SetParentDeath(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	rd := bufio.NewReader(out)
	line, err := rd.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "started" {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("players process: %q: %v", line, err)
	}
	return &playersProc{cmd: cmd, out: rd, stat: fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid)}, nil
}

// wait reads the report the process prints at the end of its phase.
func (p *playersProc) wait() (*loadReport, error) {
	var rep loadReport
	decErr := json.NewDecoder(p.out).Decode(&rep)
	if err := p.cmd.Wait(); err != nil {
		return nil, fmt.Errorf("players process: %w", err)
	}
	if decErr != nil {
		return nil, fmt.Errorf("players process report: %w", decErr)
	}
	rep.CPU = p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()
	return &rep, nil
}

// playersChild is the players' process: cfg.sessions session slots for
// cfg.duration, then the report on stdout.
func playersChild(dir, apiURL string, cfg config, round int) error {
	raw, err := os.ReadFile(filepath.Join(dir, "players.json"))
	if err != nil {
		return err
	}
	var in playerInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return err
	}
	if len(in.Tokens) < cfg.sessions || len(in.Videos) == 0 {
		return fmt.Errorf("players.json: %d tokens for %d sessions, %d videos", len(in.Tokens), cfg.sessions, len(in.Videos))
	}
	p := &players{cfg: cfg, url: apiURL, videos: in.Videos, tokens: in.Tokens,
		// Each player keeps its own keep-alive connection, as each
		// browser does.
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: cfg.sessions * 2, MaxIdleConnsPerHost: cfg.sessions * 2}},
		stats:  &loadStats{codes: map[string]int{}, messages: map[string]string{}}}
	fmt.Println("started")
	ctx, cancel := context.WithTimeout(context.Background(), cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range cfg.sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.player(ctx, i, rand.New(rand.NewPCG(uint64(round), uint64(i))))
		}()
	}
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(p.stats.report())
}

type players struct {
	cfg    config
	url    string
	videos []videoRec
	tokens []string
	client *http.Client
	stats  *loadStats
}

// loadStats are the players' counts in one loaded phase.
type loadStats struct {
	sessions, ended, viewed, eligible  atomic.Int64
	batches, batchesOK, transportError atomic.Int64
	sent, accepted, ignored, refused   atomic.Int64

	mu       sync.Mutex
	codes    map[string]int
	messages map[string]string
	postLat  []time.Duration
	startLat []time.Duration
}

func (l *loadStats) report() *loadReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &loadReport{Sessions: l.sessions.Load(), Ended: l.ended.Load(), Viewed: l.viewed.Load(), Eligible: l.eligible.Load(),
		Batches: l.batches.Load(), BatchesOK: l.batchesOK.Load(), TransportError: l.transportError.Load(),
		Sent: l.sent.Load(), Accepted: l.accepted.Load(), Ignored: l.ignored.Load(), Refused: l.refused.Load(),
		Codes: l.codes, Messages: l.messages, PostLat: l.postLat, StartLat: l.startLat}
}

func (l *loadStats) refusal(key, message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.codes[key]++
	if _, ok := l.messages[key]; !ok {
		l.messages[key] = message
	}
}

// player is one session slot: one user who plays video after video until
// the phase ends, reporting as the web player does (playbackEvents.ts): a
// start at once, then a batch every 10 s of playback with a heartbeat and
// what happened since (stalls, quality switches, rarely an error), and an
// end at once. Player time runs -speed times faster than the wall clock.
func (p *players) player(ctx context.Context, slot int, r *rand.Rand) {
	zipf := rand.NewZipf(r, 1.1, 8, uint64(len(p.videos)-1)) // popular videos draw most sessions
	token := p.tokens[slot]
	// Sessions in steady state are in random phases: spread the first
	// starts over one batch interval rather than all at once.
	if !sleepCtx(ctx, time.Duration(r.Int64N(int64(p.cfg.tick)))) {
		return
	}
	var post, starts []time.Duration
	defer func() {
		p.stats.mu.Lock()
		p.stats.postLat = append(p.stats.postLat, post...)
		p.stats.startLat = append(p.stats.startLat, starts...)
		p.stats.mu.Unlock()
	}()
	// In-flight requests finish after the phase ends, so that every answer
	// is counted; only new ones stop.
	reqCtx := context.WithoutCancel(ctx)
	for ctx.Err() == nil {
		v := p.videos[zipf.Uint64()]
		var pb playbackAnswer
		t0 := time.Now()
		status, err := call(reqCtx, p.client, "POST", p.url+"/api/videos/"+v.ID+"/playback", token, nil, &pb)
		if err != nil || status != 200 || pb.Session == "" {
			p.stats.transportError.Add(1)
			p.stats.refusal(fmt.Sprintf("playback %d %s", status, pb.Error.Code), pb.Error.Message)
			sleepCtx(ctx, p.cfg.tick)
			continue
		}
		starts = append(starts, time.Since(t0))
		p.stats.sessions.Add(1)
		s := session{p: p, ctx: reqCtx, token: token, id: pb.Session, video: v, r: r, post: &post}
		s.play(ctx)
	}
}

// session is one playback of one video.
type session struct {
	p     *players
	ctx   context.Context // of the requests
	token string
	id    string
	video videoRec
	r     *rand.Rand
	post  *[]time.Duration

	rung    string
	last    time.Time // latest event time sent (milliseconds)
	lastPos float64
	credit  float64 // watch time the server's rule credits, in seconds
	refused bool
}

func (s *session) play(ctx context.Context) {
	cfg := s.p.cfg
	rungs := []string{"1080p", "720p", "360p"}
	s.rung = rungs[s.r.IntN(len(rungs))]
	// Most viewers leave before the end; 40% watch it all.
	stopAt := s.video.Duration
	full := s.r.Float64() < 0.4
	if !full {
		stopAt = s.video.Duration * (0.05 + 0.95*s.r.Float64())
	}
	startup := 300 + s.r.ExpFloat64()*700 // ms, request to first frame
	s.send([]eventJSON{s.event(ginflix.EventStart, time.Now(), 0, min(startup, ginflix.MaxStartupMs))})
	step := playerInterval.Seconds()
	next := time.Now()
	pos := 0.0
	for {
		next = next.Add(cfg.tick)
		if !sleepCtx(ctx, time.Until(next)) {
			s.done() // the phase ended while the viewer was watching
			return
		}
		// Events happened during the interval since the last report, at
		// these fractions of it; the heartbeat closes it now.
		now, from := time.Now(), s.last
		at := func(frac float64) time.Time { return from.Add(time.Duration(frac * float64(now.Sub(from)))) }
		var batch []eventJSON
		advance := step
		if s.r.Float64() < 0.05 {
			// A stall of 1–4 s of player time, compressed like the rest.
			stall := 1 + 3*s.r.Float64()
			p := min(pos+0.4*step, stopAt)
			batch = append(batch, s.event(ginflix.EventRebufferStart, at(0.4), p, 0),
				s.event(ginflix.EventRebufferEnd, at(0.4+0.4*stall/step), p, stall*1000))
			advance -= stall
		}
		if s.r.Float64() < 0.08 {
			s.rung = rungs[s.r.IntN(len(rungs))]
			batch = append(batch, s.event(ginflix.EventQuality, at(0.85), min(pos+0.85*advance, stopAt), 0))
		}
		if s.r.Float64() < 0.005 {
			e := s.event(ginflix.EventError, at(0.9), min(pos+0.9*advance, stopAt), 0)
			e.Detail = "networkError: fragLoadError"
			batch = append(batch, e)
		}
		pos = min(pos+advance, stopAt)
		if pos >= stopAt {
			if full {
				batch = append(batch, s.event(ginflix.EventEnd, now, s.video.Duration, 0))
				s.p.stats.ended.Add(1)
			} else {
				// Leaving the page flushes the queue: a last heartbeat.
				batch = append(batch, s.event(ginflix.EventHeartbeat, now, pos, 0))
			}
			s.send(batch)
			s.done()
			return
		}
		batch = append(batch, s.event(ginflix.EventHeartbeat, now, pos, 0))
		s.send(batch)
	}
}

// event builds one event and applies the server's crediting rule to it
// (ginflix.SessionState.Apply), to know whether the session earned a view.
func (s *session) event(typ ginflix.PlaybackEventType, at time.Time, pos, value float64) eventJSON {
	at = at.Truncate(time.Millisecond)
	if !at.After(s.last) {
		at = s.last.Add(time.Millisecond) // strictly after, or it is a replay
	}
	if !s.last.IsZero() {
		s.credit += max(0, min(at.Sub(s.last).Seconds(), pos-s.lastPos, ginflix.MaxCreditGap.Seconds()))
	}
	s.last, s.lastPos = at, pos
	return eventJSON{Type: string(typ), At: stamp(at), Position: math.Round(pos*1000) / 1000, Rung: s.rung, Value: math.Round(value)}
}

func (s *session) send(events []eventJSON) {
	body, _ := json.Marshal(batchJSON{Session: s.id, Events: events})
	var out eventsAnswer
	t0 := time.Now()
	status, err := call(s.ctx, s.p.client, "POST", s.p.url+"/api/playback/events", s.token, body, &out)
	d := time.Since(t0)
	st := s.p.stats
	st.batches.Add(1)
	st.sent.Add(int64(len(events)))
	switch {
	case err != nil:
		st.transportError.Add(1)
		st.refusal("transport", err.Error())
		s.refused = true
	case status == http.StatusAccepted:
		*s.post = append(*s.post, d)
		st.batchesOK.Add(1)
		st.accepted.Add(int64(out.Accepted))
		st.ignored.Add(int64(out.Ignored))
		if out.ViewCounted {
			st.viewed.Add(1)
		}
		if out.Ignored > 0 {
			s.refused = true
		}
	default:
		*s.post = append(*s.post, d)
		st.refused.Add(int64(len(events)))
		st.refusal(fmt.Sprintf("%d %s", status, out.Error.Code), out.Error.Message)
		s.refused = true
	}
}

// done counts the session as one that must have a view when everything
// it sent was taken and it watched past the threshold.
func (s *session) done() {
	if !s.refused && s.credit >= s.p.cfg.viewThreshold.Seconds()+0.01 {
		s.p.stats.eligible.Add(1)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
