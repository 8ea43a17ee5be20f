package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/ginflix/ginflix/tus"
)

const importUsage = `Usage:
  ginflix import [flags] FILE...

Uploads video files to a Ginflix server (tus resumable uploads) as the
built-in provider's automation client, and prints "FILE → VIDEO_ID" for
each. A failed file does not stop the others; the exit status says if any
failed. An interrupted upload (Ctrl-C, a lost connection) continues where
it stopped when the same file is imported again.

Flags (environment variable in brackets):
  --server URL             Ginflix's address [GINFLIX_SERVER] (default http://127.0.0.1:8080)
  --client-id ID           automation client [GINFLIX_AUTOMATION_CLIENT_ID]
  --client-secret-file F   file holding its secret [GINFLIX_AUTOMATION_CLIENT_SECRET,
                           or GINFLIX_AUTOMATION_CLIENT_SECRET_FILE]
  --title T                title (a single FILE only; default: the file's name)
  --description D          description
  --tags a,b               tags, for every FILE
  --chunk-size SIZE        bytes per request, e.g. 8MiB (default)
  --state-file F           where unfinished uploads are remembered [GINFLIX_UPLOAD_STATE_FILE]
                           (default $XDG_STATE_HOME/ginflix/uploads.json or
                           ~/.local/state/ginflix/uploads.json)
`

// remote is what import and demo need to reach a server: its address,
// the automation client's credentials, and upload settings.
type remote struct {
	server, clientID, secretFile string
	chunk                        sizeValue
}

func (r *remote) flags(fs *flag.FlagSet, getenv func(string) string) {
	server := getenv("GINFLIX_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	r.chunk = tus.DefaultChunkSize
	fs.StringVar(&r.server, "server", server, "")
	fs.StringVar(&r.clientID, "client-id", getenv("GINFLIX_AUTOMATION_CLIENT_ID"), "")
	fs.StringVar(&r.secretFile, "client-secret-file", "", "")
	fs.Var(&r.chunk, "chunk-size", "")
}

// connect checks the settings, finds the token endpoint and returns a
// tus client that authenticates with client credentials.
func (r *remote) connect(ctx context.Context, getenv func(string) string) (*tus.Client, error) {
	base, err := url.Parse(strings.TrimRight(r.server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("--server %q is not an http(s) URL", r.server)
	}
	server := base.String()
	if r.clientID == "" {
		return nil, errors.New("no automation client: give --client-id or GINFLIX_AUTOMATION_CLIENT_ID (the server's GINFLIX_AUTOMATION_CLIENT_ID)")
	}
	secret, err := r.secret(getenv)
	if err != nil {
		return nil, err
	}
	if r.chunk <= 0 {
		return nil, errors.New("--chunk-size must be positive")
	}
	hc := &http.Client{}
	tokenURL, err := discoverTokenEndpoint(ctx, hc, server)
	if err != nil {
		return nil, err
	}
	cc := &clientCredentials{hc: hc, tokenURL: tokenURL, id: r.clientID, secret: secret, now: time.Now}
	// Fail early, before any file, on wrong credentials.
	if _, err := cc.Token(ctx); err != nil {
		return nil, err
	}
	return &tus.Client{
		Endpoint:   server + tus.DefaultBasePath,
		HTTPClient: hc,
		Token:      cc.Token,
		ChunkSize:  int64(r.chunk),
		UserAgent:  "ginflix-import/" + buildVersion(),
	}, nil
}

// secret reads --client-secret-file, else GINFLIX_AUTOMATION_CLIENT_SECRET,
// else the file GINFLIX_AUTOMATION_CLIENT_SECRET_FILE names.
func (r *remote) secret(getenv func(string) string) (string, error) {
	const env = "GINFLIX_AUTOMATION_CLIENT_SECRET"
	file, what := r.secretFile, "--client-secret-file"
	if file == "" {
		v, f := getenv(env), getenv(env+"_FILE")
		switch {
		case v != "" && f != "":
			return "", fmt.Errorf("both %s and %s_FILE are set: set one", env, env)
		case v != "":
			return v, nil
		case f == "":
			return "", fmt.Errorf("no client secret: give --client-secret-file, %s or %s_FILE", env, env)
		}
		file, what = f, env+"_FILE"
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s: %s is empty", what, file)
	}
	return s, nil
}

func runImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ginflix import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var r remote
	r.flags(fs, getenv)
	title := fs.String("title", "", "")
	desc := fs.String("description", "", "")
	tags := fs.String("tags", "", "")
	stateFile := fs.String("state-file", getenv("GINFLIX_UPLOAD_STATE_FILE"), "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, importUsage)
			return nil
		}
		return fmt.Errorf("%w\n%s", err, importUsage)
	}
	files := fs.Args()
	if len(files) == 0 {
		return fmt.Errorf("import: name at least one file\n%s", importUsage)
	}
	if *title != "" && len(files) > 1 {
		return errors.New("import: --title names one video: give a single FILE")
	}
	if *stateFile == "" {
		p, err := tus.DefaultStateFile(getenv)
		if err != nil {
			fmt.Fprintf(stderr, "warning: %v; interrupted uploads will start over\n", err)
		}
		*stateFile = p
	}
	c, err := r.connect(ctx, getenv)
	if err != nil {
		return err
	}
	c.StateFile = *stateFile
	items := make([]importItem, len(files))
	for i, f := range files {
		items[i] = importItem{path: f, label: f, meta: tus.Metadata{Title: *title, Description: *desc, Tags: splitTags(*tags)}}
	}
	return importAll(ctx, c, items, stdout, stderr)
}

// importItem is one file to upload; label names it in the output.
type importItem struct {
	path, label string
	meta        tus.Metadata
}

// importAll uploads the items one after the other; a failed one does not
// stop the others, an interruption does.
func importAll(ctx context.Context, c *tus.Client, items []importItem, stdout, stderr io.Writer) error {
	tty := isTerminal(stderr)
	failed := 0
	for i, it := range items {
		bar := newProgressBar(stderr, it.label, tty)
		fc := *c
		fc.Logf = bar.note
		id, err := fc.Upload(ctx, it.path, it.meta, bar.update)
		bar.finish(err)
		if err == nil {
			fmt.Fprintf(stdout, "%s → %s\n", it.label, id)
			continue
		}
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "%s: interrupted; the same command continues the upload where it stopped\n", it.label)
			if left := len(items) - i - 1; left > 0 {
				fmt.Fprintf(stderr, "%d more file(s) not started\n", left)
			}
			return errors.New("interrupted")
		}
		failed++
		fmt.Fprintf(stderr, "%s: %v\n", it.label, err)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d file(s) failed", failed, len(items))
	}
	return nil
}

func splitTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// discoverTokenEndpoint reads the issuer from server/api/config and the
// token endpoint from its discovery document.
func discoverTokenEndpoint(ctx context.Context, hc *http.Client, server string) (string, error) {
	var cfg struct {
		Issuer string `json:"issuer"`
	}
	if err := getJSON(ctx, hc, server+"/api/config", &cfg); err != nil {
		return "", fmt.Errorf("is Ginflix running at %s (--server, GINFLIX_SERVER)? %w", server, err)
	}
	if cfg.Issuer == "" {
		return "", fmt.Errorf("%s/api/config names no issuer", server)
	}
	var disco struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := getJSON(ctx, hc, strings.TrimRight(cfg.Issuer, "/")+"/.well-known/openid-configuration", &disco); err != nil {
		return "", fmt.Errorf("identity provider discovery: %w", err)
	}
	if disco.TokenEndpoint == "" {
		return "", fmt.Errorf("the identity provider %s names no token endpoint", cfg.Issuer)
	}
	return disco.TokenEndpoint, nil
}

func getJSON(ctx context.Context, hc *http.Client, u string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, res.Status)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// clientCredentials gets access tokens by the client credentials grant
// (client_secret_basic), caches them and renews them before they expire.
type clientCredentials struct {
	hc                   *http.Client
	tokenURL, id, secret string
	now                  func() time.Time

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

// Token returns a valid access token, asking for a new one when the
// cached one is near its end.
func (cc *clientCredentials) Token(ctx context.Context) (string, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.token != "" && cc.now().Before(cc.renewAt) {
		return cc.token, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cc.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: both are form-encoded before Basic.
	req.SetBasicAuth(url.QueryEscape(cc.id), url.QueryEscape(cc.secret))
	start := cc.now()
	res, err := cc.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	derr := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&body)
	if res.StatusCode != http.StatusOK || body.AccessToken == "" {
		msg := res.Status
		if body.Error != "" {
			msg = body.Error
			if body.Description != "" {
				msg += ": " + body.Description
			}
		} else if derr != nil && res.StatusCode == http.StatusOK {
			msg = "unreadable answer: " + derr.Error()
		}
		return "", fmt.Errorf("the identity provider refused client %q: %s", cc.id, msg)
	}
	life := time.Duration(body.ExpiresIn) * time.Second
	if life <= 0 {
		life = 5 * time.Minute // no expires_in: renew early enough for any sane lifetime
	}
	cc.token, cc.renewAt = body.AccessToken, start.Add(life-min(time.Minute, life/5))
	return cc.token, nil
}

// progressBar shows one file's upload on stderr: a line redrawn in place
// on a terminal, a line every 10 % otherwise.
type progressBar struct {
	w     io.Writer
	label string
	tty   bool
	now   func() time.Time

	start     time.Time
	startSent int64 // where this run started (a resumed upload starts late)
	sent      int64
	total     int64
	drawn     time.Time
	fullAt    time.Time // when the last byte was sent
	nextPct   int       // next multiple of 10 to print (not a terminal)
	shown     bool
}

func newProgressBar(w io.Writer, label string, tty bool) *progressBar {
	return &progressBar{w: w, label: label, tty: tty, now: time.Now, startSent: -1}
}

func (p *progressBar) update(sent, total int64) {
	now := p.now()
	if p.startSent < 0 {
		p.start, p.startSent, p.total = now, sent, total
		if !p.tty {
			if sent > 0 {
				fmt.Fprintf(p.w, "%s: resuming at %d %% of %s\n", p.label, percent(sent, total), formatBytes(total))
			} else {
				fmt.Fprintf(p.w, "%s: uploading %s\n", p.label, formatBytes(total))
			}
			p.nextPct = (percent(sent, total)/10 + 1) * 10
		}
	}
	p.sent, p.total = sent, total
	if sent < total {
		p.fullAt = time.Time{}
	} else if p.fullAt.IsZero() {
		p.fullAt = now // the server finishes the upload now: the rate stops here
	}
	pct := percent(sent, total)
	if p.tty {
		if sent < total && now.Sub(p.drawn) < 100*time.Millisecond && p.shown {
			return
		}
		p.drawn, p.shown = now, true
		fmt.Fprintf(p.w, "\r\x1b[K%s", p.line())
		return
	}
	if pct >= p.nextPct && p.nextPct <= 100 {
		fmt.Fprintf(p.w, "%s\n", p.line())
		p.nextPct = (pct/10 + 1) * 10
	}
}

// line is "label  42 %  12.3 MB / 30.0 MB  5.1 MB/s  ETA 0:04".
func (p *progressBar) line() string {
	label := p.label
	if p.tty && utf8.RuneCountInString(label) > 40 {
		r := []rune(label)
		label = "…" + string(r[len(r)-39:])
	}
	s := fmt.Sprintf("%s %3d %%  %s / %s", label, percent(p.sent, p.total), formatBytes(p.sent), formatBytes(p.total))
	end := p.now()
	if !p.fullAt.IsZero() {
		end = p.fullAt
	}
	elapsed := end.Sub(p.start)
	done := p.sent - p.startSent
	if elapsed < 200*time.Millisecond || done <= 0 {
		return s
	}
	rate := float64(done) / elapsed.Seconds()
	s += fmt.Sprintf("  %.1f MB/s", rate/1e6)
	if left := p.total - p.sent; left > 0 {
		s += "  ETA " + formatETA(time.Duration(float64(left)/rate*float64(time.Second)))
	}
	return s
}

// note prints a client notice (a retry) without breaking the bar.
func (p *progressBar) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s: %s\n", p.label, msg)
		if p.shown {
			fmt.Fprintf(p.w, "%s", p.line())
		}
		return
	}
	fmt.Fprintf(p.w, "%s: %s\n", p.label, msg)
}

// finish ends the bar's line.
func (p *progressBar) finish(err error) {
	if p.tty && p.shown {
		if err == nil {
			p.sent = p.total
			fmt.Fprintf(p.w, "\r\x1b[K%s\n", p.line())
		} else {
			fmt.Fprint(p.w, "\n")
		}
	}
}

func percent(sent, total int64) int {
	if total <= 0 {
		return 0
	}
	return int(sent * 100 / total)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

func formatETA(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}
