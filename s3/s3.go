// Package s3 keeps objects in an S3 bucket (AWS, MinIO, versitygw, ...).
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/ginflix/ginflix"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// Config says how to reach the bucket.
type Config struct {
	// Endpoint is host:port, or a URL whose scheme then decides TLS.
	Endpoint  string
	Bucket    string
	Region    string // empty asks the server on first use
	AccessKey string
	SecretKey string
	UseSSL    bool
	// PathStyle addresses the bucket as host/bucket, which MinIO and
	// versitygw need; otherwise as bucket.host (virtual-host style).
	PathStyle bool
	// CreateBucket makes New create the bucket when missing.
	CreateBucket bool

	// transport lets tests redirect connections; nil is the default.
	transport http.RoundTripper
}

const (
	// partSize bounds the memory an upload of unknown size takes: minio
	// buffers one part at a time.
	partSize = 16 << 20
	// peekSize is how much of an unknown-size body Put reads first: most
	// playlists and segments fit, and go up in one PUT, not a multipart
	// upload. It is the smallest part S3 accepts.
	peekSize = 5 << 20
)

// Store implements ginflix.ObjectStore on a bucket.
type Store struct {
	client *minio.Client
	bucket string
}

var _ ginflix.ObjectStore = (*Store)(nil)

// New connects to the bucket. It only talks to the server when
// cfg.CreateBucket is set, so that the platform can start before S3 does;
// Ping tells when it is reachable.
func New(ctx context.Context, cfg Config) (*Store, error) {
	host, secure, err := parseEndpoint(cfg.Endpoint, cfg.UseSSL)
	if err != nil {
		return nil, err
	}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return nil, ginflix.Errorf(ginflix.EINVALID, "Invalid S3 bucket name %q: %v", cfg.Bucket, err)
	}
	lookup := minio.BucketLookupDNS
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    cfg.transport,
	})
	if err != nil {
		return nil, ginflix.Errorf(ginflix.EINVALID, "Invalid S3 configuration: %v", err)
	}
	s := &Store{client: client, bucket: cfg.Bucket}
	if cfg.CreateBucket {
		if err := s.createBucket(ctx, cfg.Region); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func parseEndpoint(endpoint string, useSSL bool) (host string, secure bool, err error) {
	if !strings.Contains(endpoint, "://") {
		if endpoint == "" || strings.ContainsAny(endpoint, "/?#") {
			return "", false, ginflix.Errorf(ginflix.EINVALID, "Invalid S3 endpoint %q: want host:port or a URL.", endpoint)
		}
		return endpoint, useSSL, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", false, ginflix.Errorf(ginflix.EINVALID, "Invalid S3 endpoint %q: want scheme://host:port with no path.", endpoint)
	}
	switch u.Scheme {
	case "https":
		return u.Host, true, nil
	case "http":
		if useSSL {
			return "", false, ginflix.Errorf(ginflix.EINVALID, "S3 endpoint %q is http but UseSSL is set.", endpoint)
		}
		return u.Host, false, nil
	}
	return "", false, ginflix.Errorf(ginflix.EINVALID, "Invalid S3 endpoint %q: the scheme must be http or https.", endpoint)
}

func (s *Store) createBucket(ctx context.Context, region string) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3: bucket %q: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
	// Another instance may have won the race.
	if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("s3: create bucket %q: %w", s.bucket, err)
	}
	return nil
}

func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := ginflix.ValidateKey(key); err != nil {
		return err
	}
	if contentType == "" {
		contentType = ginflix.ContentTypeFor(key)
	}
	var body io.Reader
	var exact *exactReader
	if size >= 0 {
		// minio reads exactly size bytes and would not notice a body that
		// is longer, nor always say clearly that it was shorter.
		exact = &exactReader{r: r, left: size}
		body = exact
		// minio may not read at all for an empty object.
		if size == 0 {
			if err := exact.atEnd(); err != io.EOF {
				return exact.failure(key)
			}
		}
	} else {
		var buf bytes.Buffer
		n, err := io.CopyN(&buf, r, peekSize)
		switch {
		case err == io.EOF:
			body, size = bytes.NewReader(buf.Bytes()), n
		case err != nil:
			return fmt.Errorf("s3: put %q: %w", key, err)
		default:
			body = io.MultiReader(&buf, r)
		}
	}
	_, err := s.client.PutObject(ctx, s.bucket, key, body, size, minio.PutObjectOptions{
		ContentType: contentType,
		PartSize:    partSize,
	})
	if exact != nil && exact.err != nil {
		// minio's upload aborted on our error; give the cause, not its echo.
		return exact.failure(key)
	}
	if err != nil {
		return s.mapError("put", key, err)
	}
	return nil
}

// exactReader passes size bytes through and fails when the body turns
// out shorter or longer, before minio can finish the upload.
type exactReader struct {
	r    io.Reader
	left int64
	size int64
	err  error
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.left == 0 {
		return 0, e.atEnd()
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	e.size += int64(n)
	switch {
	case e.left == 0 && (err == nil || err == io.EOF):
		// Check before handing over the last bytes: minio may never call
		// again once it has what it was told to expect.
		return n, e.atEnd()
	case err == io.EOF:
		e.err = ginflix.Errorf(ginflix.EINVALID, "Object body ended after %d bytes, %d more were announced.", e.size, e.left)
		return n, e.err
	case err != nil:
		e.err = err
	}
	return n, err
}

func (e *exactReader) failure(key string) error {
	if ginflix.ErrorCode(e.err) == ginflix.EINVALID {
		return e.err
	}
	return fmt.Errorf("s3: put %q: %w", key, e.err)
}

// atEnd probes for a byte past the announced size.
func (e *exactReader) atEnd() error {
	var b [1]byte
	for range 100 {
		n, err := e.r.Read(b[:])
		if n > 0 {
			e.err = ginflix.Errorf(ginflix.EINVALID, "Object body is longer than the %d bytes announced.", e.size)
			return e.err
		}
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			e.err = err
			return err
		}
	}
	e.err = io.ErrNoProgress
	return e.err
}

func (s *Store) Get(ctx context.Context, key string, rng *ginflix.ByteRange) (io.ReadCloser, ginflix.ObjectInfo, error) {
	if err := ginflix.ValidateKey(key); err != nil {
		return nil, ginflix.ObjectInfo{}, err
	}
	// Core sends the GET now, unlike Client.GetObject which waits for the
	// first Read: a missing key must fail here, not in the caller's copy.
	core := minio.Core{Client: s.client}
	if rng == nil {
		body, oi, _, err := core.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
		if err != nil {
			return nil, ginflix.ObjectInfo{}, s.mapError("get", key, err)
		}
		return body, objectInfo(oi), nil
	}
	// A range needs the full size first, to apply the same rules as the
	// filesystem store rather than each server's reading of RFC 9110.
	// If-Match then ties the bytes to that size; a rewrite in between
	// means starting over.
	for attempt := 0; ; attempt++ {
		oi, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
		if err != nil {
			return nil, ginflix.ObjectInfo{}, s.mapError("get", key, err)
		}
		info := objectInfo(oi)
		off, n, err := ginflix.ResolveRange(rng, info.Size)
		if err != nil {
			return nil, ginflix.ObjectInfo{}, err
		}
		var opts minio.GetObjectOptions
		if err := opts.SetRange(off, off+n-1); err != nil {
			return nil, ginflix.ObjectInfo{}, fmt.Errorf("s3: get %q: %w", key, err)
		}
		if info.ETag != "" {
			opts.SetMatchETag(info.ETag)
		}
		body, _, _, err := core.GetObject(ctx, s.bucket, key, opts)
		if err == nil {
			return body, info, nil
		}
		if minio.ToErrorResponse(err).StatusCode != http.StatusPreconditionFailed || attempt == 2 {
			return nil, ginflix.ObjectInfo{}, s.mapError("get", key, err)
		}
	}
}

func (s *Store) Stat(ctx context.Context, key string) (ginflix.ObjectInfo, error) {
	if err := ginflix.ValidateKey(key); err != nil {
		return ginflix.ObjectInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return ginflix.ObjectInfo{}, s.mapError("stat", key, err)
	}
	return objectInfo(oi), nil
}

// List gives each object's ContentType as guessed from its key: listings
// do not carry the stored type, and fetching it would cost a request per
// object. Stat has the stored one.
func (s *Store) List(parent context.Context, prefix string, fn func(ginflix.ObjectInfo) error) error {
	if err := ginflix.ValidatePrefix(prefix); err != nil {
		return err
	}
	// Cancelling stops minio's listing goroutine when fn bails out early.
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if oi.Err != nil {
			return s.mapError("list", prefix, oi.Err)
		}
		// Folder markers and keys written by other tools that Get would
		// refuse are not objects of ours.
		if ginflix.ValidateKey(oi.Key) != nil {
			continue
		}
		// Listings carry no Content-Type, so objectInfo guesses it.
		if err := fn(objectInfo(oi)); err != nil {
			return err
		}
	}
	// A cancelled listing just closes the channel: say it was cut short.
	return parent.Err()
}

func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ginflix.ValidateKey(key); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && ginflix.ErrorCode(s.mapError("delete", key, err)) != ginflix.ENOTFOUND {
		return s.mapError("delete", key, err)
	}
	return nil
}

func (s *Store) DeletePrefix(parent context.Context, prefix string) error {
	if err := ginflix.ValidatePrefix(prefix); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	// The listing feeds the batch deletes (up to 1000 keys a request)
	// without holding the whole prefix in memory.
	objs := make(chan minio.ObjectInfo)
	var (
		wg      sync.WaitGroup
		listErr error
	)
	wg.Go(func() {
		defer close(objs)
		for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if oi.Err != nil {
				listErr = oi.Err
				return
			}
			select {
			case objs <- oi:
			case <-ctx.Done():
				return
			}
		}
	})
	var firstErr error
	for rerr := range s.client.RemoveObjects(ctx, s.bucket, objs, minio.RemoveObjectsOptions{}) {
		if firstErr == nil && ginflix.ErrorCode(s.mapError("delete", rerr.ObjectName, rerr.Err)) != ginflix.ENOTFOUND {
			firstErr = s.mapError("delete", rerr.ObjectName, rerr.Err)
			cancel()
		}
	}
	cancel()
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if listErr != nil {
		return s.mapError("list", prefix, listErr)
	}
	return parent.Err()
}

func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3: bucket %q: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("s3: bucket %q does not exist", s.bucket)
	}
	return nil
}

func objectInfo(oi minio.ObjectInfo) ginflix.ObjectInfo {
	ct := oi.ContentType
	if ct == "" {
		ct = ginflix.ContentTypeFor(oi.Key)
	}
	return ginflix.ObjectInfo{
		Key:         oi.Key,
		Size:        oi.Size,
		ModTime:     oi.LastModified,
		ETag:        strings.Trim(oi.ETag, `"`),
		ContentType: ct,
	}
}

// mapError gives S3's answers their ginflix codes. A missing bucket stays
// internal: it is a configuration fault, not a missing object.
func (s *Store) mapError(op, key string, err error) error {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch {
		case er.Code == "NoSuchKey" || (er.StatusCode == http.StatusNotFound && er.Code != "NoSuchBucket"):
			return ginflix.Errorf(ginflix.ENOTFOUND, "Object %q not found.", key)
		case er.Code == "InvalidRange" || er.StatusCode == http.StatusRequestedRangeNotSatisfiable:
			return ginflix.Errorf(ginflix.ERANGE, "Byte range of object %q not satisfiable.", key)
		}
	}
	return fmt.Errorf("s3: %s %q in bucket %q: %w", op, key, s.bucket, err)
}
