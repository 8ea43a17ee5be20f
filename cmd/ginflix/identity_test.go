package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ginflix/ginflix/sqlite"
)

// TestAutomationClientOpensAdminRoutes follows the path a script takes:
// the issuer from /api/config, the token endpoint from discovery, a token
// by client credentials, then admin routes.
func TestAutomationClientOpensAdminRoutes(t *testing.T) {
	addr := freeAddr(t)
	base := "http://" + addr
	data := t.TempDir()
	in := startServe(t, addr, data, map[string]string{
		"GINFLIX_PUBLIC_CATALOG":           "false",
		"GINFLIX_AUTOMATION_CLIENT_ID":     "ginflix-automation",
		"GINFLIX_AUTOMATION_CLIENT_SECRET": "s3cret-s3cret-s3cret",
	})
	in.waitReady(t, base)

	var cfg struct{ Issuer, ClientID string }
	_, body := in.get(t, base+"/api/config")
	if err := json.Unmarshal(body, &cfg); err != nil || cfg.Issuer != base+"/oidc" || cfg.ClientID != "ginflix-web" {
		t.Fatalf("config %s (%v)", body, err)
	}
	var disco struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
		JWKS          string `json:"jwks_uri"`
	}
	_, body = in.get(t, cfg.Issuer+"/.well-known/openid-configuration")
	if err := json.Unmarshal(body, &disco); err != nil || disco.Issuer != cfg.Issuer || disco.TokenEndpoint == "" {
		t.Fatalf("discovery %s (%v)", body, err)
	}

	token := func(secret string) (int, string) {
		req, _ := http.NewRequest("POST", disco.TokenEndpoint, strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("ginflix-automation", secret)
		res, err := in.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(res.Body).Decode(&tok)
		return res.StatusCode, tok.AccessToken
	}
	if status, _ := token("wrong-secret-wrong"); status < 400 {
		t.Fatalf("a wrong client secret got a token (%d)", status)
	}
	status, tok := token("s3cret-s3cret-s3cret")
	if status != 200 || tok == "" {
		t.Fatalf("client credentials: %d", status)
	}
	if res, body := in.get(t, base+"/api/admin/videos", "Authorization", "Bearer "+tok); res.StatusCode != 200 {
		t.Fatalf("admin route with the automation token: %s %s", res.Status, body)
	}
	if res, _ := in.get(t, base+"/api/admin/videos"); res.StatusCode != 401 {
		t.Fatalf("admin route without a token: %s", res.Status)
	}
	if res, _ := in.get(t, base+"/api/videos"); res.StatusCode != 401 {
		t.Fatalf("a private catalogue without a token: %s", res.Status)
	}
	if res, _ := in.get(t, base+"/api/videos", "Authorization", "Bearer "+tok); res.StatusCode != 200 {
		t.Fatalf("catalogue with the automation token: %s", res.Status)
	}

	// The first start created an admin and printed its password once.
	out := in.stdout.String()
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "admin@ginflix.local") {
		t.Fatalf("no first admin announced:\n%s", out)
	}
	if strings.Contains(in.stderr.String(), m[1]) || strings.Contains(in.stderr.String(), tok) || strings.Contains(in.stderr.String(), "s3cret-s3cret-s3cret") {
		t.Fatal("a password, secret or token reached the logs")
	}
	if err := in.stop(t); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(t.Context(), data+"/ginflix.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, _ := db.CountUsers(t.Context()); n != 1 {
		t.Fatalf("%d accounts after the first start, want the one admin", n)
	}
	// A second start keeps the account and prints no new password.
	in2 := startServe(t, addr, data, nil)
	in2.waitReady(t, base)
	if strings.Contains(in2.stdout.String(), "password:") {
		t.Fatal("a second start created another admin")
	}
}
