// Package filesystem keeps objects as files under one local directory, the
// all-in-one default. A key maps to the file of the same relative path.
package filesystem

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ginflix/ginflix"
)

// tempPrefix names in-flight uploads. Keys whose last segment starts with
// it are refused so that List can tell them apart from objects.
const tempPrefix = ".ginflix-tmp-"

// Store implements ginflix.ObjectStore on a directory.
type Store struct {
	// root confines every access to the directory, symlinks included,
	// which a lexical check on the joined path could not.
	root *os.Root
	dir  string
}

var _ ginflix.ObjectStore = (*Store)(nil)

// New opens the store at root, creating the directory if needed.
func New(root string) (*Store, error) {
	if root == "" {
		return nil, ginflix.Errorf(ginflix.EINVALID, "The object store directory is empty.")
	}
	dir, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("filesystem: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("filesystem: %w", err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("filesystem: %w", err)
	}
	return &Store{root: r, dir: dir}, nil
}

// Close releases the directory handle.
func (s *Store) Close() error { return s.root.Close() }

// Dir is the absolute path of the store's directory.
func (s *Store) Dir() string { return s.dir }

func validateKey(key string) error {
	if err := ginflix.ValidateKey(key); err != nil {
		return err
	}
	if strings.HasPrefix(path.Base(key), tempPrefix) {
		return ginflix.Errorf(ginflix.EINVALID, "Invalid object key %q: the name is reserved.", key)
	}
	return nil
}

func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := path.Dir(key)
	var (
		tmp string
		f   *os.File
		err error
	)
	// A concurrent Delete may prune the directory between MkdirAll and
	// the create; trying again is enough.
	for attempt := 0; ; attempt++ {
		if dir != "." {
			if err = s.root.MkdirAll(dir, 0o755); err != nil {
				return s.pathError(key, err)
			}
		}
		tmp = path.Join(dir, tempPrefix+rand.Text())
		f, err = s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt == 2 {
			return s.pathError(key, err)
		}
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			s.root.Remove(tmp)
		}
	}()

	src := io.Reader(ctxReader{ctx, r})
	if size >= 0 {
		// One byte more than announced is enough to tell a longer body.
		src = io.LimitReader(src, size+1)
	}
	n, err := io.Copy(f, src)
	if err != nil {
		return fmt.Errorf("filesystem: put %q: %w", key, err)
	}
	if size >= 0 && n != size {
		return ginflix.Errorf(ginflix.EINVALID, "Object %q: expected %d bytes, got %s.", key, size, countDesc(n, size))
	}
	// Without the sync a crash after the rename could publish an empty file.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("filesystem: put %q: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("filesystem: put %q: %w", key, err)
	}
	// Kernel timestamps are coarse (a few ms); stamping a fine clock
	// makes the size+mtime ETag change on every rewrite.
	now := time.Now()
	if err := s.root.Chtimes(tmp, now, now); err != nil {
		return fmt.Errorf("filesystem: put %q: %w", key, err)
	}
	if err := s.root.Rename(tmp, key); err != nil {
		return s.pathError(key, err)
	}
	committed = true
	return nil
}

func countDesc(n, size int64) string {
	if n > size {
		return "more"
	}
	return fmt.Sprint(n)
}

func (s *Store) Get(ctx context.Context, key string, rng *ginflix.ByteRange) (io.ReadCloser, ginflix.ObjectInfo, error) {
	if err := validateKey(key); err != nil {
		return nil, ginflix.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, ginflix.ObjectInfo{}, err
	}
	f, err := s.root.Open(key)
	if err != nil {
		return nil, ginflix.ObjectInfo{}, s.readError(key, err)
	}
	// Stat the open file, not the path, so that the size matches the
	// bytes we serve even if the key is rewritten meanwhile.
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, ginflix.ObjectInfo{}, fmt.Errorf("filesystem: get %q: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, ginflix.ObjectInfo{}, notFound(key)
	}
	info := objectInfo(key, fi)
	off, n, err := ginflix.ResolveRange(rng, info.Size)
	if err != nil {
		f.Close()
		return nil, ginflix.ObjectInfo{}, err
	}
	if rng == nil {
		return f, info, nil
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return nil, ginflix.ObjectInfo{}, fmt.Errorf("filesystem: get %q: %w", key, err)
	}
	return &fileRange{f: f, lr: io.LimitedReader{R: f, N: n}}, info, nil
}

// fileRange reads part of a file. WriteTo hands the network a
// LimitedReader over the *os.File, which is what lets it use sendfile.
type fileRange struct {
	f  *os.File
	lr io.LimitedReader
}

func (r *fileRange) Read(p []byte) (int, error)         { return r.lr.Read(p) }
func (r *fileRange) WriteTo(w io.Writer) (int64, error) { return io.Copy(w, &r.lr) }
func (r *fileRange) Close() error                       { return r.f.Close() }
func (s *Store) Stat(ctx context.Context, key string) (ginflix.ObjectInfo, error) {
	if err := validateKey(key); err != nil {
		return ginflix.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return ginflix.ObjectInfo{}, err
	}
	fi, err := s.root.Stat(key)
	if err != nil {
		return ginflix.ObjectInfo{}, s.readError(key, err)
	}
	if !fi.Mode().IsRegular() {
		return ginflix.ObjectInfo{}, notFound(key)
	}
	return objectInfo(key, fi), nil
}

func (s *Store) List(ctx context.Context, prefix string, fn func(ginflix.ObjectInfo) error) error {
	objs, _, err := s.walk(ctx, prefix)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// walk collects the objects under prefix, sorted (a directory walk visits
// "a/" before "a.x" although "a.x" sorts first as a key), and the
// directories under it, parents first.
func (s *Store) walk(ctx context.Context, prefix string) (objs []ginflix.ObjectInfo, dirs []string, err error) {
	if err := ginflix.ValidatePrefix(prefix); err != nil {
		return nil, nil, err
	}
	start := "."
	if prefix != "" {
		start = strings.TrimSuffix(prefix, "/")
	}
	err = fs.WalkDir(s.root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// Missing prefixes list nothing; so do directories that
			// vanish during the walk, or a file where the prefix expects
			// a directory.
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(p+"/", prefix) {
				dirs = append(dirs, p)
			}
			return nil
		}
		// Symlinks are not followed: objects are only ever regular files.
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		// Skip files a Get could not open, such as names dropped in by
		// hand that are not valid keys.
		if !strings.HasPrefix(p, prefix) || validateKey(p) != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		objs = append(objs, objectInfo(p, fi))
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("filesystem: list %q: %w", prefix, err)
	}
	slices.SortFunc(objs, func(a, b ginflix.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return objs, dirs, nil
}

func (s *Store) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := s.root.Lstat(key)
	if err != nil {
		if isMissing(err) {
			return nil
		}
		return fmt.Errorf("filesystem: delete %q: %w", key, err)
	}
	// A directory is not an object: removing it could drop other keys.
	if fi.IsDir() {
		return nil
	}
	if err := s.root.Remove(key); err != nil && !isMissing(err) {
		return fmt.Errorf("filesystem: delete %q: %w", key, err)
	}
	s.prune(path.Dir(key))
	return nil
}

func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	objs, dirs, err := s.walk(ctx, prefix)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.root.Remove(o.Key); err != nil && !isMissing(err) {
			return fmt.Errorf("filesystem: delete %q: %w", o.Key, err)
		}
	}
	// Then the directories, children before parents; those still holding
	// something (an upload in flight, a foreign file) stay.
	for _, d := range slices.Backward(dirs) {
		s.root.Remove(d)
	}
	if prefix != "" {
		s.prune(strings.TrimSuffix(prefix, "/"))
	}
	return nil
}

// prune removes dir and its parents while they are empty, so that the tree
// mirrors S3 where folders exist only through their objects.
func (s *Store) prune(dir string) {
	for ; dir != "." && dir != "/" && dir != ""; dir = path.Dir(dir) {
		if err := s.root.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return
		}
	}
}

func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Writing is the only proof that uploads will work: a read-only
	// mount or a deleted directory still answers stat.
	name := tempPrefix + "ping-" + rand.Text()
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("filesystem: %s is not writable: %w", s.dir, err)
	}
	f.Close()
	if err := s.root.Remove(name); err != nil {
		return fmt.Errorf("filesystem: %s: %w", s.dir, err)
	}
	return nil
}

func objectInfo(key string, fi fs.FileInfo) ginflix.ObjectInfo {
	return ginflix.ObjectInfo{
		Key:         key,
		Size:        fi.Size(),
		ModTime:     fi.ModTime(),
		ETag:        fmt.Sprintf("%x-%x", fi.Size(), fi.ModTime().UnixNano()),
		ContentType: ginflix.ContentTypeFor(key),
	}
}

func notFound(key string) error {
	return ginflix.Errorf(ginflix.ENOTFOUND, "Object %q not found.", key)
}

// isMissing is true for errors meaning no file at the path, including a
// file standing where a parent directory should be.
func isMissing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func (s *Store) readError(key string, err error) error {
	if isMissing(err) {
		return notFound(key)
	}
	return fmt.Errorf("filesystem: %q: %w", key, err)
}

// pathError maps failures to lay out key: a file where a directory is
// needed, or the reverse, is a conflict between keys S3 would accept but a
// filesystem cannot hold both.
func (s *Store) pathError(key string, err error) error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, fs.ErrExist) {
		return ginflix.Errorf(ginflix.ECONFLICT, "Object key %q conflicts with an existing object or folder.", key)
	}
	return fmt.Errorf("filesystem: put %q: %w", key, err)
}

// ctxReader stops a copy when the context ends, between reads.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
