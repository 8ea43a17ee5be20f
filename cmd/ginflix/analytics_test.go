package main

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestConfigAnalytics(t *testing.T) {
	c := mustLoad(t, nil, nil)
	a := c.analyticsConfig()
	if a.ViewThreshold != 10*time.Second || c.EventRetention != 30*24*time.Hour || a.BatchesPerMinute != 30 || a.BatchBurst != 10 ||
		a.CountryHeader != "" || len(a.TrustedProxies) != 0 {
		t.Fatalf("defaults: %+v, retention %s", a, c.EventRetention)
	}
	c = mustLoad(t, []string{"--view-threshold", "30s"}, map[string]string{
		"GINFLIX_COUNTRY_HEADER":             "CF-IPCountry",
		"GINFLIX_TRUSTED_PROXIES":            "10.0.0.0/8, 192.168.1.7, ::ffff:172.16.0.1, fd00::/8",
		"GINFLIX_EVENT_RETENTION":            "72h",
		"GINFLIX_PLAYBACK_EVENTS_PER_MINUTE": "12",
		"GINFLIX_PLAYBACK_EVENTS_BURST":      "4",
	})
	a = c.analyticsConfig()
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"),
		netip.MustParsePrefix("172.16.0.1/32"), netip.MustParsePrefix("fd00::/8")}
	if a.ViewThreshold != 30*time.Second || c.EventRetention != 72*time.Hour || a.BatchesPerMinute != 12 || a.BatchBurst != 4 ||
		a.CountryHeader != "CF-IPCountry" || !slices.Equal(a.TrustedProxies, want) {
		t.Fatalf("set: %+v", a)
	}
	for name, c := range map[string]struct {
		env  map[string]string
		subs []string
	}{
		"header without proxies": {map[string]string{"GINFLIX_COUNTRY_HEADER": "X-Country"}, []string{"GINFLIX_COUNTRY_HEADER needs GINFLIX_TRUSTED_PROXIES"}},
		"bad header":             {map[string]string{"GINFLIX_COUNTRY_HEADER": "X Country", "GINFLIX_TRUSTED_PROXIES": "10.0.0.1"}, []string{"GINFLIX_COUNTRY_HEADER", "not a header name"}},
		"bad proxy":              {map[string]string{"GINFLIX_TRUSTED_PROXIES": "10.0.0.0/33"}, []string{"GINFLIX_TRUSTED_PROXIES", `"10.0.0.0/33"`}},
		"proxy name":             {map[string]string{"GINFLIX_TRUSTED_PROXIES": "proxy.local"}, []string{"GINFLIX_TRUSTED_PROXIES"}},
		"short retention":        {map[string]string{"GINFLIX_EVENT_RETENTION": "1h"}, []string{"GINFLIX_EVENT_RETENTION must be at least 24h"}},
		"zero threshold":         {map[string]string{"GINFLIX_VIEW_THRESHOLD": "0s"}, []string{"GINFLIX_VIEW_THRESHOLD"}},
		"zero rate":              {map[string]string{"GINFLIX_PLAYBACK_EVENTS_PER_MINUTE": "0"}, []string{"GINFLIX_PLAYBACK_EVENTS_PER_MINUTE"}},
		"huge burst":             {map[string]string{"GINFLIX_PLAYBACK_EVENTS_BURST": "100000"}, []string{"GINFLIX_PLAYBACK_EVENTS_BURST"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, nil, c.env)
			wantErr(t, err, c.subs...)
		})
	}
}
