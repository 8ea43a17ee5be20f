package op

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	jose "github.com/go-jose/go-jose/v4"
)

const keyBits = 2048

// signingKey is the provider's RSA key; its id is the RFC 7638 thumbprint
// of the public key, so it stays the same for as long as the key does.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is what the JWKS publishes.
type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }

// loadOrCreateKey reads the PEM key at path, or generates one and writes it
// there (0600, atomically) when there is none yet.
func loadOrCreateKey(path string, log *slog.Logger) (*signingKey, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err := rsa.GenerateKey(rand.Reader, keyBits)
		if err != nil {
			return nil, fmt.Errorf("op: generate signing key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("op: encode signing key: %w", err)
		}
		created, err := writeFileExclusive(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		if err != nil {
			return nil, fmt.Errorf("op: write signing key: %w", err)
		}
		if created {
			k, err := newSigningKey(key)
			if err == nil {
				log.Info("op: generated a new signing key", "file", path, "kid", k.id)
			}
			return k, err
		}
		// Another process wrote one first: use it.
		data, err = os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("op: read signing key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("op: read signing key: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("op: the signing key file is readable by others; chmod 600 it", "file", path, "mode", fi.Mode().Perm().String())
	}
	key, err := parseKey(data)
	if err != nil {
		return nil, fmt.Errorf("op: signing key %s: %w", path, err)
	}
	return newSigningKey(key)
}

func parseKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var parsed any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
	}
	if err != nil {
		return nil, err
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	if key.N.BitLen() < keyBits {
		return nil, fmt.Errorf("RSA key of %d bits, want at least %d", key.N.BitLen(), keyBits)
	}
	return key, key.Validate()
}

func newSigningKey(key *rsa.PrivateKey) (*signingKey, error) {
	tp, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("op: key thumbprint: %w", err)
	}
	return &signingKey{id: base64.RawURLEncoding.EncodeToString(tp), key: key}, nil
}

// writeFileExclusive writes data to a temporary file next to path and links
// it into place, so that readers never see a partial file and two
// processes starting together agree on one key. It reports false when path
// already existed.
func writeFileExclusive(path string, data []byte) (bool, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	f, err := os.CreateTemp(dir, ".oidc-key-*")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return false, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		// Some file systems have no hard links: fall back to a rename,
		// atomic too, though not exclusive.
		if err := os.Rename(tmp, path); err != nil {
			return false, err
		}
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return true, nil
}
