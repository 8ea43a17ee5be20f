package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/api"
	"github.com/ginflix/ginflix/ffmpeg"
	"github.com/ginflix/ginflix/filesystem"
	"github.com/ginflix/ginflix/mongo"
	"github.com/ginflix/ginflix/pipeline"
	"github.com/ginflix/ginflix/playback"
	"github.com/ginflix/ginflix/prometheus"
	"github.com/ginflix/ginflix/s3"
	"github.com/ginflix/ginflix/sqlite"
	"github.com/ginflix/ginflix/streamer"
	"github.com/ginflix/ginflix/tus"
	"github.com/ginflix/ginflix/web"
)

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated already
	opts := &slog.HandlerOptions{Level: level}
	text := cfg.LogFormat == "text"
	if cfg.LogFormat == "auto" {
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				text = true
			}
		}
	}
	if text {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func openStore(ctx context.Context, cfg Config, log *slog.Logger) (ginflix.Store, error) {
	if cfg.MongoDBURI != "" {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		db, err := mongo.Open(ctx, cfg.MongoDBURI, cfg.MongoDBDatabase)
		if err != nil {
			return nil, fmt.Errorf("MongoDB: %w", err)
		}
		log.Info("database", "kind", "mongodb", "database", cfg.MongoDBDatabase)
		return db, nil
	}
	path := filepath.Join(cfg.DataDir, "ginflix.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("SQLite: %w", err)
	}
	log.Info("database", "kind", "sqlite", "path", path)
	return db, nil
}

func openObjects(ctx context.Context, cfg Config, log *slog.Logger) (ginflix.ObjectStore, error) {
	if cfg.Storage == "s3" {
		st, err := s3.New(ctx, s3.Config{
			Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, Region: cfg.S3Region,
			AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey,
			UseSSL: cfg.S3UseSSL, PathStyle: cfg.S3PathStyle,
		})
		if err != nil {
			return nil, fmt.Errorf("S3: %w", err)
		}
		log.Info("object store", "kind", "s3", "endpoint", cfg.S3Endpoint, "bucket", cfg.S3Bucket)
		return st, nil
	}
	root := filepath.Join(cfg.DataDir, "objects")
	st, err := filesystem.New(root)
	if err != nil {
		return nil, fmt.Errorf("object store: %w", err)
	}
	log.Info("object store", "kind", "filesystem", "root", root)
	return st, nil
}

// serve runs the configured roles until ctx ends, then drains in-flight
// requests and closes the stores.
func serve(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	// zitadel's provider logs through slog.Default whatever it is given:
	// route it to the same structured log.
	slog.SetDefault(log)
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	// Only the backend uses the database: a streamer needs none (and the
	// network policies let only the backend reach MongoDB).
	var store ginflix.Store
	if cfg.hasRole("backend") {
		var err error
		if store, err = openStore(ctx, cfg, log); err != nil {
			return err
		}
		defer func() {
			if err := store.Close(); err != nil {
				log.Error("closing the database", "err", err)
			}
		}()
	}
	objects, err := openObjects(ctx, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if cfg.hasRole("streamer") {
		// All-in-one shares the listener with the API, whose small
		// answers the limit does not slow down.
		ln = streamer.Listener(ln, int(cfg.StreamerUnsentLimit))
	}
	// With port 0 the derived URL would name port 0; name the real one.
	if _, port, _ := net.SplitHostPort(cfg.Addr); port == "0" && cfg.PublicURL == "http://"+cfg.Addr {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	if cfg.StreamerURL == "" {
		cfg.StreamerURL = cfg.PublicURL + "/stream"
	}
	metrics := prometheus.New(buildVersion())
	// One settings cache per process, shared by the API, the uploads and
	// the workers, so that a save here applies to all three at once.
	var settings *ginflix.SettingsCache
	if store != nil {
		settings = ginflix.NewSettingsCache(store, cfg.RuntimeDefaults(), cfg.SettingsTTL)
		settings.Logger = log.With("component", "settings")
		if _, err := settings.Refresh(ctx); err != nil {
			log.Warn("starting with the configuration's settings: the stored ones cannot be read yet", "err", err)
		}
	}
	handler, err := newHandler(ctx, cfg, store, objects, metrics, settings, stdout, log)
	if err != nil {
		ln.Close()
		return err
	}
	workersDone, err := startWorkers(ctx, cfg, store, objects, metrics, settings, log)
	if err != nil {
		ln.Close()
		return err
	}
	if cfg.hasRole("backend") {
		go runAnalytics(ctx, cfg, store, metrics, log.With("component", "analytics"))
	}
	if cfg.Demo && cfg.hasRole("backend") && cfg.Workers > 0 {
		go seedDemo(ctx, cfg, store, objects, log.With("component", "demo"))
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// Said before serving: a client that got an answer may count on the
	// line being there (the listener already queues connections).
	log.Info("ginflix started", "version", buildVersion(), "roles", cfg.Roles, "addr", ln.Addr().String(), "url", cfg.PublicURL)
	fmt.Fprintf(stdout, "Ginflix is running at %s (API: %s/api/videos)\n", cfg.PublicURL, cfg.PublicURL)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Workers stop their FFmpeg and give their jobs back to the queue.
	select {
	case <-workersDone:
	case <-sctx.Done():
		return errors.New("shutdown: transcoding workers did not stop in time")
	}
	log.Info("stopped")
	return nil
}

// newHandler assembles the roles this process runs into one handler.
func newHandler(ctx context.Context, cfg Config, store ginflix.Store, objects ginflix.ObjectStore, metrics *prometheus.Metrics, settings *ginflix.SettingsCache, stdout io.Writer, log *slog.Logger) (http.Handler, error) {
	signer, err := playbackSigner(cfg, log)
	if err != nil {
		return nil, err
	}
	root := http.NewServeMux()
	if cfg.hasRole("streamer") {
		sm, err := streamer.NewMetrics(metrics)
		if err != nil {
			return nil, err
		}
		origins := cfg.CORSOrigins
		if len(origins) == 0 {
			u, _ := url.Parse(cfg.PublicURL)
			origins = []string{u.Scheme + "://" + u.Host}
		}
		root.Handle("/stream/", streamer.NewServer(streamer.Deps{
			Logger: log.With("component", "streamer"), Objects: objects, Signer: signer,
			Metrics: sm, HTTPMetrics: metrics, CacheBytes: cfg.StreamerCacheSize, RateLimit: cfg.StreamerRateLimit,
			AllowedOrigins: origins,
		}))
	}
	if cfg.hasRole("web") {
		root.Handle("/", web.NewHandler(web.Built()))
	}
	if !cfg.hasRole("backend") {
		// A streamer or web process alone still answers probes and scrapes.
		root.Handle("GET /metrics", metrics.Handler())
		root.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"ok"}`+"\n")
		})
		return root, nil
	}
	id, err := newIdentity(ctx, cfg, store, log)
	if err != nil {
		return nil, err
	}
	if id.provider != nil {
		if err := ensureFirstAdmin(ctx, cfg, store, stdout, log); err != nil {
			return nil, err
		}
		root.Handle(id.providerPath, id.provider)
	}
	audit := api.NewAuditor(store, log, metrics)
	uploads, err := newUploads(ctx, cfg, store, objects, metrics, settings, audit, log)
	if err != nil {
		return nil, err
	}
	backend := api.NewServer(api.Deps{
		Uploads: uploads, Playback: signer,
		Logger: log, Store: store, Objects: objects, Metrics: metrics, Version: buildVersion(),
		CatalogCacheTTL: cfg.CatalogCacheTTL,
		Analytics:       cfg.analyticsConfig(),
		Verifier:        id.verifier,
		PublicCatalog:   cfg.PublicCatalog,
		AdminRole:       cfg.AdminRole, ViewerRole: cfg.ViewerRole,
		ManagesUsers: id.provider != nil,
		Public: api.PublicConfig{
			ProductName: cfg.ProductName, Issuer: id.issuer, ClientID: cfg.OIDCClientID,
			Scopes: []string{"openid", "profile", "email", "offline_access"}, StreamerURL: cfg.StreamerURL,
		},
		Settings: settings, Audit: audit, SystemConfig: cfg.Effective(),
		FFmpegVersion: func(ctx context.Context) (string, error) {
			fc := ffmpeg.DefaultConfig()
			fc.FFmpegPath = cfg.FFmpegPath
			return ffmpeg.Version(ctx, fc)
		},
	})
	if !cfg.hasRole("web") {
		root.Handle("/", backend)
		return root, nil
	}
	// The web apps own every other path (client-side routes).
	for _, p := range []string{"/api/", "/health", "/ready", "/metrics"} {
		root.Handle(p, backend)
	}
	return root, nil
}

// playbackSigner returns the signer of playback tokens: the configured
// keys, or in all-in-one mode a key generated once in the data directory.
func playbackSigner(cfg Config, log *slog.Logger) (*playback.Signer, error) {
	spec := cfg.PlaybackKeys
	if spec == "" {
		path := filepath.Join(cfg.DataDir, "playback-keys")
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			spec = playback.NewKey("k1")
			if err := os.WriteFile(path, []byte(spec+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("playback key: %w", err)
			}
			log.Info("playback key generated", "path", path)
		case err != nil:
			return nil, fmt.Errorf("playback key: %w", err)
		default:
			spec = strings.TrimSpace(string(b))
		}
	}
	s, err := playback.ParseKeys(spec)
	if err != nil {
		return nil, fmt.Errorf("playback keys: %w", err)
	}
	return &s, nil
}

// startWorkers runs the transcoding workers of the backend role until ctx
// ends; the returned channel closes when they have stopped.
func startWorkers(ctx context.Context, cfg Config, store ginflix.Store, objects ginflix.ObjectStore, metrics *prometheus.Metrics, settings *ginflix.SettingsCache, log *slog.Logger) (<-chan struct{}, error) {
	done := make(chan struct{})
	if cfg.Workers == 0 || !cfg.hasRole("backend") {
		close(done)
		return done, nil
	}
	tmp := cfg.TempDir
	if tmp == "" {
		tmp = filepath.Join(cfg.DataDir, "tmp")
	}
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return nil, fmt.Errorf("temp directory: %w", err)
	}
	fc := ffmpeg.DefaultConfig()
	fc.FFmpegPath, fc.FFprobePath, fc.Preset = cfg.FFmpegPath, cfg.FFprobePath, cfg.FFmpegPreset
	for _, tool := range []string{fc.FFmpegPath, fc.FFprobePath} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("transcoding needs %s (install FFmpeg: apt-get install ffmpeg, or set GINFLIX_WORKERS=0): %w", tool, err)
		}
	}
	w := pipeline.NewWorker(pipeline.Config{
		FFmpeg: fc, TempDir: tmp, Concurrency: cfg.Workers, AutoPublish: cfg.AutoPublish, LeaseTTL: cfg.JobLeaseTTL,
		Logger: log.With("component", "worker"), Settings: settings.Current,
	}, store, objects)
	w.OnJobDone = metrics.ObserveJob
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	log.Info("transcoding workers started", "workers", cfg.Workers, "preset", cfg.FFmpegPreset)
	return done, nil
}

// newUploads serves tus uploads into DATA/uploads; a finished upload is
// ingested (original stored, video created, job queued) before the
// client's last request is answered.
func newUploads(ctx context.Context, cfg Config, store ginflix.Store, objects ginflix.ObjectStore, metrics *prometheus.Metrics, settings *ginflix.SettingsCache, audit *api.Auditor, log *slog.Logger) (http.Handler, error) {
	h, err := tus.New(tus.Config{
		BasePath: "/api/uploads/", Dir: filepath.Join(cfg.DataDir, "uploads"),
		// The limit is the admin's runtime setting; tusd's own ceiling is
		// the most any setting may allow.
		MaxSize:     ginflix.MaxUploadLimit,
		MaxSizeFunc: func(ctx context.Context) int64 { return settings.Current(ctx).MaxUploadSize },
		Extensions:  cfg.UploadExtensions, AbandonAfter: cfg.UploadAbandonAfter,
		TrustForwardedHeaders: cfg.TrustForwarded, Logger: log.With("component", "uploads"),
	}, func(ctx context.Context, u tus.Upload) (string, error) {
		v, err := pipeline.Ingest(ctx, store, objects, pipeline.Original{
			UploadID: u.ID, Path: u.Path, Size: u.Size, Filename: u.Filename, Title: u.Title,
			Description: u.Description, Tags: u.Tags, UploaderID: u.UploaderID,
		})
		if err != nil {
			metrics.CountUploadFailed()
			return "", err
		}
		metrics.CountUpload(u.Size)
		// The request that sent the last bytes acts; the sweep has no
		// principal, and the uploader is then the actor.
		p := ginflix.PrincipalFrom(ctx)
		if p == nil {
			p = &ginflix.Principal{Subject: u.UploaderID}
		}
		audit.Record(ctx, p, ginflix.AuditUploadFinished, ginflix.TargetVideo, v.ID, fmt.Sprintf("%s (%d bytes, upload %s)", v.Title, u.Size, u.ID))
		log.InfoContext(ctx, "upload finished", "video_id", v.ID, "bytes", u.Size, "by", u.UploaderID)
		return v.ID, nil
	})
	if err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	go h.Run(ctx)
	return h, nil
}
