package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/api"
	"github.com/ginflix/ginflix/playback"
	"github.com/ginflix/ginflix/prometheus"
)

// validateAnalytics checks the playback analytics settings.
func (c *Config) validateAnalytics() []error {
	var errs []error
	if c.ViewThreshold < time.Second || c.ViewThreshold > time.Hour {
		errs = append(errs, errors.New("GINFLIX_VIEW_THRESHOLD must be between 1s and 1h"))
	}
	// Sessions take events for up to DefaultSessionTTL: keeping their state
	// less long would let a late batch count a view again.
	if c.EventRetention < 2*playback.DefaultSessionTTL {
		errs = append(errs, fmt.Errorf("GINFLIX_EVENT_RETENTION must be at least %s", 2*playback.DefaultSessionTTL))
	}
	if c.EventsPerMinute < 1 || c.EventsPerMinute > 6000 {
		errs = append(errs, errors.New("GINFLIX_PLAYBACK_EVENTS_PER_MINUTE must be between 1 and 6000"))
	}
	if c.EventsBurst < 1 || c.EventsBurst > 1000 {
		errs = append(errs, errors.New("GINFLIX_PLAYBACK_EVENTS_BURST must be between 1 and 1000"))
	}
	if c.CountryHeader != "" && !validHeaderName(c.CountryHeader) {
		errs = append(errs, fmt.Errorf("GINFLIX_COUNTRY_HEADER %q is not a header name", c.CountryHeader))
	}
	if _, err := parseProxies(c.TrustedProxies); err != nil {
		errs = append(errs, err)
	}
	if c.CountryHeader != "" && len(c.TrustedProxies) == 0 {
		errs = append(errs, errors.New("GINFLIX_COUNTRY_HEADER needs GINFLIX_TRUSTED_PROXIES: the header is only believed from them"))
	}
	return errs
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return s != ""
}

// parseProxies reads addresses (one host) and CIDRs.
func parseProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("GINFLIX_TRUSTED_PROXIES: %q is not an address or a CIDR like 10.0.0.0/8", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// analyticsConfig is the API's view of the settings (validated already).
func (c *Config) analyticsConfig() api.AnalyticsConfig {
	proxies, _ := parseProxies(c.TrustedProxies)
	return api.AnalyticsConfig{
		ViewThreshold: c.ViewThreshold, BatchesPerMinute: float64(c.EventsPerMinute), BatchBurst: c.EventsBurst,
		CountryHeader: c.CountryHeader, TrustedProxies: proxies,
	}
}

// Intervals of the analytics maintenance of a backend.
const (
	sweepEvery   = time.Hour
	viewersEvery = 15 * time.Second
)

// runAnalytics keeps the active viewers gauge current and sweeps raw
// events and sessions past the retention, until ctx ends. Every backend
// replica runs it: sweeping is an idempotent delete by time, so several
// at once only repeat each other.
func runAnalytics(ctx context.Context, cfg Config, store ginflix.AnalyticsStore, metrics *prometheus.Metrics, log *slog.Logger) {
	sweep := func() {
		before := time.Now().Add(-cfg.EventRetention)
		n, err := store.SweepPlayback(ctx, before)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("sweeping playback events", "err", err)
		case n > 0:
			log.Info("playback events swept", "records", n, "before", before.UTC().Format(time.RFC3339))
		}
	}
	viewers := func() {
		n, err := store.ActiveSessions(ctx, time.Now().Add(-ginflix.ActiveViewerWindow))
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("counting active viewers", "err", err)
			}
			return
		}
		metrics.SetActiveViewers(n)
	}
	sweep()
	viewers()
	sweepTick, viewersTick := time.NewTicker(sweepEvery), time.NewTicker(viewersEvery)
	defer sweepTick.Stop()
	defer viewersTick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweepTick.C:
			sweep()
		case <-viewersTick.C:
			viewers()
		}
	}
}
