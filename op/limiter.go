package op

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Sign-in throttling: failures are counted per account (the email typed)
// and per client address. Once a key has failed threshold times, each
// with less than failureWindow since the previous, it is locked out for
// firstLockout, then twice as long after each further failure, up to
// maxLockout. A locked out attempt is refused with 429 before any password
// is checked, and does not count. A success clears the account's count (not
// the address's: one's own account must not launder guesses at others').
const (
	failureWindow   = 15 * time.Minute
	accountFailures = 5
	// An address is shared by a household or an office behind NAT, so it
	// gets more tries than one account.
	addressFailures = 20
	firstLockout    = 30 * time.Second
	maxLockout      = 15 * time.Minute
	// maxTracked bounds memory; beyond it new keys are not tracked until
	// the sweep frees some (addresses still throttle a spray of emails).
	maxTracked = 100_000
)

type limiter struct {
	threshold int

	mu      sync.Mutex
	entries map[string]*failures
}

type failures struct {
	count       int
	last        time.Time
	lockedUntil time.Time
}

func newLimiter(threshold int) *limiter {
	return &limiter{threshold: threshold, entries: map[string]*failures{}}
}

// wait is how long key is locked out still.
func (l *limiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.entries[key]; e != nil && now.Before(e.lockedUntil) {
		return e.lockedUntil.Sub(now)
	}
	return 0
}

func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key]
	if e == nil {
		if len(l.entries) >= maxTracked {
			l.sweepLocked(now)
			if len(l.entries) >= maxTracked {
				return
			}
		}
		e = &failures{}
		l.entries[key] = e
	}
	if now.Sub(e.last) > failureWindow {
		e.count = 0
	}
	e.count++
	e.last = now
	if n := e.count - l.threshold; n >= 0 {
		lock := maxLockout
		if n < 16 {
			lock = min(firstLockout<<n, maxLockout)
		}
		e.lockedUntil = now.Add(lock)
	}
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

func (l *limiter) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
}

func (l *limiter) sweepLocked(now time.Time) {
	for k, e := range l.entries {
		if now.Sub(e.last) > failureWindow && !now.Before(e.lockedUntil) {
			delete(l.entries, k)
		}
	}
}

type loginLimits struct {
	accounts, addresses *limiter
}

func newLoginLimits() *loginLimits {
	return &loginLimits{accounts: newLimiter(accountFailures), addresses: newLimiter(addressFailures)}
}

func (l *loginLimits) wait(account, address string, now time.Time) time.Duration {
	return max(l.accounts.wait(account, now), l.addresses.wait(address, now))
}

func (l *loginLimits) failed(account, address string, now time.Time) {
	l.accounts.fail(account, now)
	l.addresses.fail(address, now)
}

func (l *loginLimits) succeeded(account string) { l.accounts.reset(account) }

func (l *loginLimits) sweep(now time.Time) {
	l.accounts.sweep(now)
	l.addresses.sweep(now)
}

// clientAddress is the key of the request's origin: the host of
// r.RemoteAddr, an IPv6 address reduced to its /64 (one subscriber's
// prefix). Behind a reverse proxy every request shares the proxy's
// address: trusted-proxy handling (X-Forwarded-For) is to come.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.WithZone("").Prefix(64)
		return p.String()
	}
	return ip.String()
}
