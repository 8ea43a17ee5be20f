package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// keySet is the issuer's JWKS. A token whose key id is unknown makes it
// fetch the set again (key rotation), but at most once per minRefresh, and
// a bad signature never does: forged tokens cannot make Ginflix hammer the
// identity provider.
type keySet struct {
	url        string
	client     *http.Client
	minRefresh time.Duration

	mu        sync.Mutex
	keys      []jose.JSONWebKey
	fetchedAt time.Time
	fetching  chan struct{} // closed when the fetch in flight ends
}

func newKeySet(url string, client *http.Client, minRefresh time.Duration) *keySet {
	return &keySet{url: url, client: client, minRefresh: minRefresh}
}

var algs = func() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(Algorithms))
	for i, a := range Algorithms {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}()

// VerifySignature implements go-oidc's KeySet.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, algs)
	if err != nil {
		return nil, fmt.Errorf("malformed jwt: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("a token has exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	key, err := k.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	return jws.Verify(key)
}

// key returns the key with id kid, fetching the set when it is unknown.
func (k *keySet) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	for attempt := 0; ; attempt++ {
		k.mu.Lock()
		for i := range k.keys {
			if k.keys[i].KeyID == kid && k.keys[i].Use != "enc" {
				key := k.keys[i]
				k.mu.Unlock()
				return &key, nil
			}
		}
		if attempt > 0 || (!k.fetchedAt.IsZero() && time.Since(k.fetchedAt) < k.minRefresh) {
			k.mu.Unlock()
			return nil, fmt.Errorf("no key %q in the issuer's key set", kid)
		}
		wait := k.fetching
		if wait == nil {
			wait = make(chan struct{})
			k.fetching = wait
			go k.fetch(wait)
		}
		k.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// fetch replaces the keys with the issuer's current set. It runs detached
// from any one request so that a cancelled request does not waste it.
func (k *keySet) fetch(done chan struct{}) {
	keys, err := k.download()
	k.mu.Lock()
	if err == nil {
		k.keys = keys
	}
	k.fetchedAt = time.Now() // failures are throttled too
	k.fetching = nil
	k.mu.Unlock()
	close(done)
}

func (k *keySet) download() ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	res, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks %s: status %d", k.url, res.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("jwks %s: %w", k.url, err)
	}
	var keys []jose.JSONWebKey
	for _, key := range set.Keys {
		if key.IsPublic() && key.Valid() {
			keys = append(keys, key)
		}
	}
	return keys, nil
}
