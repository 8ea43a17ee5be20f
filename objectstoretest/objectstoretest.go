// Package objectstoretest is the conformance suite every ginflix.ObjectStore
// must pass, so that the filesystem and S3 stores stay interchangeable.
package objectstoretest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ginflix/ginflix"
)

// Run runs the suite. newStore must return an empty store; it is called
// once per subtest and should register its own cleanup.
func Run(t *testing.T, newStore func(t *testing.T) ginflix.ObjectStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ginflix.ObjectStore)
	}{
		{"RoundTrip", testRoundTrip},
		{"RoundTripLarge", testRoundTripLarge},
		{"UnknownSize", testUnknownSize},
		{"UnknownSizeLarge", testUnknownSizeLarge},
		{"UnusualKeys", testUnusualKeys},
		{"Overwrite", testOverwrite},
		{"Stat", testStat},
		{"Ranges", testRanges},
		{"RangesEmptyObject", testRangesEmpty},
		{"InvalidRanges", testInvalidRanges},
		{"Missing", testMissing},
		{"FailingReader", testFailingReader},
		{"FailingReaderKeepsOld", testFailingReaderKeepsOld},
		{"SizeMismatch", testSizeMismatch},
		{"CanceledContext", testCanceledContext},
		{"InvalidKeys", testInvalidKeys},
		{"InvalidPrefixes", testInvalidPrefixes},
		{"ListOrder", testListOrder},
		{"ListPrefixIsolation", testListPrefixIsolation},
		{"ListMissingPrefix", testListMissingPrefix},
		{"ListStops", testListStops},
		{"Delete", testDelete},
		{"DeletePrefix", testDeletePrefix},
		{"ContentTypes", testContentTypes},
		{"ConcurrentPuts", testConcurrentPuts},
		{"Ping", testPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

func testRoundTrip(t *testing.T, s ginflix.ObjectStore) {
	key := ginflix.PrefixOriginal + "v1.mp4"
	data := []byte("not really a movie")
	put(t, s, key, data)
	got, info := get(t, s, key, nil)
	equal(t, got, data)
	if info.Key != key || info.Size != int64(len(data)) || info.ETag == "" || info.ModTime.IsZero() {
		t.Errorf("Get info = %+v, want key %q, size %d, an ETag and a time", info, key, len(data))
	}
	if strings.Contains(info.ETag, `"`) {
		t.Errorf("ETag %s is quoted", info.ETag)
	}
	if info.ContentType != "video/mp4" {
		t.Errorf("ContentType = %q, want video/mp4", info.ContentType)
	}
}

func testRoundTripLarge(t *testing.T, s ginflix.ObjectStore) {
	key := ginflix.PrefixOriginal + "large.mp4"
	data := randomBytes(6<<20+123, 1)
	put(t, s, key, data)
	got, info := get(t, s, key, nil)
	equal(t, got, data)
	if info.Size != int64(len(data)) {
		t.Errorf("Size = %d, want %d", info.Size, len(data))
	}
}

func testUnknownSize(t *testing.T, s ginflix.ObjectStore) {
	key := ginflix.HLSPrefix("v1") + "720p/index.m3u8"
	data := []byte("#EXTM3U\n#EXT-X-VERSION:7\n")
	if err := s.Put(t.Context(), key, onlyReader{bytes.NewReader(data)}, -1, ""); err != nil {
		t.Fatalf("Put(size -1): %v", err)
	}
	got, info := get(t, s, key, nil)
	equal(t, got, data)
	if info.Size != int64(len(data)) {
		t.Errorf("Size = %d, want %d", info.Size, len(data))
	}
}

// testUnknownSizeLarge passes the part size of a multipart upload, the
// path an S3 store must take when it cannot know the length.
func testUnknownSizeLarge(t *testing.T, s ginflix.ObjectStore) {
	key := ginflix.PrefixOriginal + "stream.mp4"
	data := randomBytes(20<<20+7, 2)
	if err := s.Put(t.Context(), key, onlyReader{bytes.NewReader(data)}, -1, "video/mp4"); err != nil {
		t.Fatalf("Put(size -1): %v", err)
	}
	got, info := get(t, s, key, nil)
	equal(t, got, data)
	if info.Size != int64(len(data)) {
		t.Errorf("Size = %d, want %d", info.Size, len(data))
	}
}

// testUnusualKeys covers characters URL encoding gets wrong, such as '+'.
func testUnusualKeys(t *testing.T, s ginflix.ObjectStore) {
	keys := []string{
		ginflix.PrefixOriginal + "my movie (2024) é+ü&=?#%.mp4",
		ginflix.PrefixSubtitles + "v1/fr-CA~1.vtt",
		"temp/.hidden",
	}
	for i, key := range keys {
		put(t, s, key, []byte(key))
		got, info := get(t, s, key, nil)
		equal(t, got, []byte(key))
		if info.Key != key {
			t.Errorf("Get(%q).Key = %q", key, info.Key)
		}
		if i == 0 {
			if _, err := s.Stat(t.Context(), key); err != nil {
				t.Errorf("Stat(%q): %v", key, err)
			}
		}
	}
	slices.Sort(keys)
	if got := listKeys(t, s, ""); !slices.Equal(got, keys) {
		t.Errorf("List = %q, want %q", got, keys)
	}
}

func testOverwrite(t *testing.T, s ginflix.ObjectStore) {
	key := ginflix.ThumbnailPrefix("v1") + "poster.jpg"
	put(t, s, key, []byte("first"))
	first := stat(t, s, key)
	// Same size on purpose: the ETag must not hinge on the length alone.
	put(t, s, key, []byte("again"))
	second := stat(t, s, key)
	got, _ := get(t, s, key, nil)
	equal(t, got, []byte("again"))
	if second.ETag == first.ETag {
		t.Errorf("ETag %q did not change on overwrite", first.ETag)
	}
	put(t, s, key, []byte("a longer third version"))
	third := stat(t, s, key)
	if third.ETag == second.ETag || third.Size != 22 {
		t.Errorf("after a longer overwrite Stat = %+v, previous ETag %q", third, second.ETag)
	}
}

func testStat(t *testing.T, s ginflix.ObjectStore) {
	key := ginflix.HLSPrefix("v1") + "master.m3u8"
	data := []byte("#EXTM3U\n")
	put(t, s, key, data)
	info := stat(t, s, key)
	if info.Key != key || info.Size != int64(len(data)) || info.ETag == "" || info.ModTime.IsZero() {
		t.Errorf("Stat = %+v", info)
	}
	_, ginfo := get(t, s, key, nil)
	if ginfo.ETag != info.ETag || ginfo.Size != info.Size || ginfo.ContentType != info.ContentType {
		t.Errorf("Get info %+v disagrees with Stat %+v", ginfo, info)
	}
	if again := stat(t, s, key); again.ETag != info.ETag {
		t.Errorf("ETag changed between Stats without a write: %q then %q", info.ETag, again.ETag)
	}
}

func testRanges(t *testing.T, s ginflix.ObjectStore) {
	key := ginflix.HLSPrefix("v1") + "720p/seg_001.m4s"
	data := []byte("0123456789")
	put(t, s, key, data)
	full := stat(t, s, key)
	for _, tc := range []struct {
		rng  ginflix.ByteRange
		want string
	}{
		{ginflix.ByteRange{Start: 0, End: 3}, "0123"},
		{ginflix.ByteRange{Start: 0, End: 0}, "0"},
		{ginflix.ByteRange{Start: 3, End: 6}, "3456"},
		{ginflix.ByteRange{Start: 4, End: -1}, "456789"},
		{ginflix.ByteRange{Start: 0, End: -1}, "0123456789"},
		{ginflix.ByteRange{Start: 9, End: 9}, "9"},
		{ginflix.ByteRange{Start: 9, End: -1}, "9"},
		{ginflix.ByteRange{Start: 7, End: 10}, "789"},
		{ginflix.ByteRange{Start: 7, End: 1000}, "789"},
	} {
		got, info := get(t, s, key, &tc.rng)
		if string(got) != tc.want {
			t.Errorf("Get(%+v) = %q, want %q", tc.rng, got, tc.want)
		}
		// Size stays the full size: callers build Content-Range from it.
		if info.Size != int64(len(data)) || info.ETag != full.ETag {
			t.Errorf("Get(%+v) info = %+v, want the full object's size %d and ETag %q", tc.rng, info, len(data), full.ETag)
		}
	}
	for _, rng := range []ginflix.ByteRange{{Start: 10, End: -1}, {Start: 10, End: 12}, {Start: 1000, End: -1}} {
		wantGetCode(t, s, key, &rng, ginflix.ERANGE)
	}
}

func testRangesEmpty(t *testing.T, s ginflix.ObjectStore) {
	key := ginflix.PrefixSubtitles + "v1/empty.vtt"
	put(t, s, key, nil)
	got, info := get(t, s, key, nil)
	if len(got) != 0 || info.Size != 0 {
		t.Errorf("Get(empty) = %q, %+v", got, info)
	}
	for _, rng := range []ginflix.ByteRange{{Start: 0, End: -1}, {Start: 0, End: 0}, {Start: 0, End: 10}, {Start: 1, End: -1}} {
		wantGetCode(t, s, key, &rng, ginflix.ERANGE)
	}
}

func testInvalidRanges(t *testing.T, s ginflix.ObjectStore) {
	key := ginflix.HLSPrefix("v1") + "720p/seg_002.m4s"
	put(t, s, key, []byte("0123456789"))
	for _, rng := range []ginflix.ByteRange{{Start: -1, End: 3}, {Start: 5, End: 3}, {Start: -5, End: -1}} {
		wantGetCode(t, s, key, &rng, ginflix.EINVALID)
	}
}

func testMissing(t *testing.T, s ginflix.ObjectStore) {
	ctx := t.Context()
	for _, key := range []string{ginflix.PrefixOriginal + "nope.mp4", "no/such/folder/at/all"} {
		wantGetCode(t, s, key, nil, ginflix.ENOTFOUND)
		// Missing wins over a bad range: there is nothing to measure.
		wantGetCode(t, s, key, &ginflix.ByteRange{Start: 5, End: -1}, ginflix.ENOTFOUND)
		_, err := s.Stat(ctx, key)
		wantCode(t, "Stat("+key+")", err, ginflix.ENOTFOUND)
	}
	// A folder holding objects is not an object itself.
	put(t, s, ginflix.HLSPrefix("v1")+"master.m3u8", []byte("#EXTM3U\n"))
	wantGetCode(t, s, "videos/hls/v1", nil, ginflix.ENOTFOUND)
	_, err := s.Stat(ctx, "videos/hls/v1")
	wantCode(t, "Stat(folder)", err, ginflix.ENOTFOUND)
}

func testFailingReader(t *testing.T, s ginflix.ObjectStore) {
	prefix := ginflix.HLSPrefix("v1")
	for _, tc := range []struct {
		name string
		size int64
		good int
	}{
		{"unknown size", -1, 1000},
		{"known size", 4000, 1000},
		{"unknown size, past a part", -1, 17 << 20},
		{"known size, past a part", 40 << 20, 17 << 20},
		{"nothing read", -1, 0},
	} {
		key := prefix + "720p/seg_" + strings.ReplaceAll(tc.name, " ", "_") + ".m4s"
		err := s.Put(t.Context(), key, &failingReader{good: tc.good}, tc.size, "")
		if err == nil {
			t.Errorf("%s: Put with a failing reader succeeded", tc.name)
		}
		_, err = s.Stat(t.Context(), key)
		wantCode(t, tc.name+": Stat after failed Put", err, ginflix.ENOTFOUND)
	}
	if keys := listKeys(t, s, prefix); len(keys) != 0 {
		t.Errorf("List after failed Puts = %q, want nothing", keys)
	}
	if keys := listKeys(t, s, ""); len(keys) != 0 {
		t.Errorf("List(\"\") after failed Puts = %q, want nothing", keys)
	}
}

func testFailingReaderKeepsOld(t *testing.T, s ginflix.ObjectStore) {
	key := ginflix.ThumbnailPrefix("v1") + "poster.webp"
	put(t, s, key, []byte("old poster"))
	if err := s.Put(t.Context(), key, &failingReader{good: 3}, -1, ""); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	got, _ := get(t, s, key, nil)
	equal(t, got, []byte("old poster"))
	if keys := listKeys(t, s, ginflix.ThumbnailPrefix("v1")); !slices.Equal(keys, []string{key}) {
		t.Errorf("List = %q, want only %q", keys, key)
	}
}

func testSizeMismatch(t *testing.T, s ginflix.ObjectStore) {
	for _, tc := range []struct {
		name string
		size int64
		data []byte
	}{
		{"short", 10, []byte("12345")},
		{"long", 3, []byte("12345")},
		{"empty but announced", 1, nil},
		{"announced empty", 0, []byte("x")},
	} {
		key := ginflix.PrefixTemp + strings.ReplaceAll(tc.name, " ", "_")
		err := s.Put(t.Context(), key, onlyReader{bytes.NewReader(tc.data)}, tc.size, "")
		wantCode(t, tc.name+": Put", err, ginflix.EINVALID)
		_, err = s.Stat(t.Context(), key)
		wantCode(t, tc.name+": Stat after refused Put", err, ginflix.ENOTFOUND)
	}
	if keys := listKeys(t, s, ""); len(keys) != 0 {
		t.Errorf("List after refused Puts = %q, want nothing", keys)
	}
}

func testCanceledContext(t *testing.T, s ginflix.ObjectStore) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	key := ginflix.PrefixTemp + "canceled"
	if err := s.Put(ctx, key, strings.NewReader("data"), 4, ""); err == nil {
		t.Error("Put with a canceled context succeeded")
	}
	_, err := s.Stat(t.Context(), key)
	wantCode(t, "Stat after canceled Put", err, ginflix.ENOTFOUND)
}

var invalidKeys = []string{
	"../x", "/abs", "a/../b", "a//b", `a\b`, "", "a/./b", "a\x00b",
	".", "..", "a/", "videos/hls/v1/", "./a", "a/..", "a\nb", "a\x7fb",
	strings.Repeat("k", 1025),
}

func testInvalidKeys(t *testing.T, s ginflix.ObjectStore) {
	ctx := t.Context()
	for _, key := range invalidKeys {
		err := s.Put(ctx, key, strings.NewReader("x"), 1, "")
		wantCode(t, fmt.Sprintf("Put(%q)", key), err, ginflix.EINVALID)
		_, _, err = s.Get(ctx, key, nil)
		wantCode(t, fmt.Sprintf("Get(%q)", key), err, ginflix.EINVALID)
		_, err = s.Stat(ctx, key)
		wantCode(t, fmt.Sprintf("Stat(%q)", key), err, ginflix.EINVALID)
		err = s.Delete(ctx, key)
		wantCode(t, fmt.Sprintf("Delete(%q)", key), err, ginflix.EINVALID)
	}
	if keys := listKeys(t, s, ""); len(keys) != 0 {
		t.Errorf("List after refused Puts = %q, want nothing", keys)
	}
}

func testInvalidPrefixes(t *testing.T, s ginflix.ObjectStore) {
	ctx := t.Context()
	put(t, s, ginflix.PrefixOriginal+"v1.mp4", []byte("x"))
	for _, prefix := range []string{"videos", "../", "/abs/", "a//b/", "/", "./", "a/../", `a\b/`} {
		err := s.List(ctx, prefix, func(ginflix.ObjectInfo) error { return nil })
		wantCode(t, fmt.Sprintf("List(%q)", prefix), err, ginflix.EINVALID)
		err = s.DeletePrefix(ctx, prefix)
		wantCode(t, fmt.Sprintf("DeletePrefix(%q)", prefix), err, ginflix.EINVALID)
	}
	stat(t, s, ginflix.PrefixOriginal+"v1.mp4")
}

func testListOrder(t *testing.T, s ginflix.ObjectStore) {
	// Byte order, not walk order: "720p.json" < "720p/..." as '.' < '/',
	// and upper case sorts before lower case.
	keys := []string{
		ginflix.HLSPrefix("abc") + "720p/seg_010.m4s",
		ginflix.HLSPrefix("abc") + "720p/seg_002.m4s",
		ginflix.HLSPrefix("abc") + "720p/index.m3u8",
		ginflix.HLSPrefix("abc") + "720p.json",
		ginflix.HLSPrefix("abc") + "720p-audio/index.m3u8",
		ginflix.HLSPrefix("abc") + "1080p/index.m3u8",
		ginflix.HLSPrefix("abc") + "Z.json",
		ginflix.HLSPrefix("abc") + "master.m3u8",
		ginflix.PrefixOriginal + "abc.mp4",
		ginflix.ThumbnailPrefix("abc") + "poster.jpg",
	}
	sizes := map[string]int64{}
	for i, k := range keys {
		data := bytes.Repeat([]byte("x"), i+1)
		put(t, s, k, data)
		sizes[k] = int64(len(data))
	}
	want := slices.Clone(keys)
	slices.Sort(want)

	var infos []ginflix.ObjectInfo
	if err := s.List(t.Context(), "", func(o ginflix.ObjectInfo) error { infos = append(infos, o); return nil }); err != nil {
		t.Fatalf("List: %v", err)
	}
	var got []string
	for _, o := range infos {
		got = append(got, o.Key)
		st := stat(t, s, o.Key)
		if o.Size != sizes[o.Key] || o.ETag != st.ETag || o.ModTime.IsZero() {
			t.Errorf("List gave %+v, Stat gives %+v", o, st)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("List(\"\") =\n%q\nwant\n%q", got, want)
	}

	hls := ginflix.HLSPrefix("abc")
	var wantHLS []string
	for _, k := range want {
		if strings.HasPrefix(k, hls) {
			wantHLS = append(wantHLS, k)
		}
	}
	if got := listKeys(t, s, hls); !slices.Equal(got, wantHLS) {
		t.Errorf("List(%q) =\n%q\nwant\n%q", hls, got, wantHLS)
	}
	if got := listKeys(t, s, hls+"720p/"); !slices.Equal(got, []string{hls + "720p/index.m3u8", hls + "720p/seg_002.m4s", hls + "720p/seg_010.m4s"}) {
		t.Errorf("List(720p/) = %q", got)
	}
}

func testListPrefixIsolation(t *testing.T, s ginflix.ObjectStore) {
	in := []string{ginflix.HLSPrefix("abc") + "master.m3u8", ginflix.HLSPrefix("abc") + "720p/index.m3u8"}
	out := []string{
		ginflix.HLSPrefix("abcd") + "x",
		ginflix.HLSPrefix("abcd") + "master.m3u8",
		"videos/hls/abc.m3u8",
		"videos/hls/ab",
		ginflix.ThumbnailPrefix("abc") + "poster.jpg",
	}
	for _, k := range append(slices.Clone(in), out...) {
		put(t, s, k, []byte(k))
	}
	slices.Sort(in)
	if got := listKeys(t, s, ginflix.HLSPrefix("abc")); !slices.Equal(got, in) {
		t.Errorf("List(%q) = %q, want %q", ginflix.HLSPrefix("abc"), got, in)
	}
	// A prefix naming an object rather than a folder holds nothing.
	if got := listKeys(t, s, "videos/hls/ab/"); len(got) != 0 {
		t.Errorf("List(videos/hls/ab/) = %q, want nothing", got)
	}
}

func testListMissingPrefix(t *testing.T, s ginflix.ObjectStore) {
	if got := listKeys(t, s, ""); len(got) != 0 {
		t.Errorf("List of an empty store = %q", got)
	}
	put(t, s, ginflix.PrefixOriginal+"v1.mp4", []byte("x"))
	for _, p := range []string{ginflix.HLSPrefix("nope"), "no/such/deep/folder/"} {
		if got := listKeys(t, s, p); len(got) != 0 {
			t.Errorf("List(%q) = %q, want nothing", p, got)
		}
	}
}

func testListStops(t *testing.T, s ginflix.ObjectStore) {
	for i := range 5 {
		put(t, s, fmt.Sprintf("%sv1/%d.jpg", ginflix.PrefixThumbnails, i), []byte("x"))
	}
	stop := errors.New("stop")
	calls := 0
	err := s.List(t.Context(), ginflix.PrefixThumbnails, func(ginflix.ObjectInfo) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("List with fn failing on the 2nd call: err %v after %d calls, want %v after 2", err, calls, stop)
	}
}

func testDelete(t *testing.T, s ginflix.ObjectStore) {
	ctx := t.Context()
	key := ginflix.PrefixOriginal + "v1.mp4"
	other := ginflix.PrefixOriginal + "v2.mp4"
	put(t, s, key, []byte("x"))
	put(t, s, other, []byte("y"))
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := s.Stat(ctx, key)
	wantCode(t, "Stat after Delete", err, ginflix.ENOTFOUND)
	stat(t, s, other)
	for _, k := range []string{key, ginflix.PrefixOriginal + "never.mp4", "no/such/folder/key"} {
		if err := s.Delete(ctx, k); err != nil {
			t.Errorf("Delete(missing %q) = %v, want nil", k, err)
		}
	}
	// Deleting a folder's last object must not stop new objects there.
	if err := s.Delete(ctx, other); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	put(t, s, key, []byte("back"))
	got, _ := get(t, s, key, nil)
	equal(t, got, []byte("back"))
}

func testDeletePrefix(t *testing.T, s ginflix.ObjectStore) {
	ctx := t.Context()
	gone := []string{
		ginflix.HLSPrefix("abc") + "master.m3u8",
		ginflix.HLSPrefix("abc") + "720p/index.m3u8",
		ginflix.HLSPrefix("abc") + "720p/seg_001.m4s",
		ginflix.HLSPrefix("abc") + "1080p/seg_001.m4s",
	}
	kept := []string{
		ginflix.HLSPrefix("abcd") + "master.m3u8",
		"videos/hls/abc.json",
		ginflix.PrefixOriginal + "abc.mp4",
		ginflix.ThumbnailPrefix("abc") + "poster.jpg",
	}
	for _, k := range append(slices.Clone(gone), kept...) {
		put(t, s, k, []byte(k))
	}
	if err := s.DeletePrefix(ctx, ginflix.HLSPrefix("abc")); err != nil {
		t.Fatalf("DeletePrefix: %v", err)
	}
	for _, k := range gone {
		_, err := s.Stat(ctx, k)
		wantCode(t, "Stat("+k+") after DeletePrefix", err, ginflix.ENOTFOUND)
	}
	slices.Sort(kept)
	if got := listKeys(t, s, ""); !slices.Equal(got, kept) {
		t.Errorf("List after DeletePrefix = %q, want %q", got, kept)
	}
	if err := s.DeletePrefix(ctx, ginflix.HLSPrefix("abc")); err != nil {
		t.Errorf("DeletePrefix again: %v", err)
	}
	if err := s.DeletePrefix(ctx, "no/such/prefix/"); err != nil {
		t.Errorf("DeletePrefix(missing): %v", err)
	}
	// The ladder can be transcoded again after a purge.
	put(t, s, gone[1], []byte("again"))
	got, _ := get(t, s, gone[1], nil)
	equal(t, got, []byte("again"))

	if err := s.DeletePrefix(ctx, ""); err != nil {
		t.Fatalf("DeletePrefix(\"\"): %v", err)
	}
	if got := listKeys(t, s, ""); len(got) != 0 {
		t.Errorf("List after DeletePrefix(\"\") = %q", got)
	}
	// The store stays usable once emptied.
	put(t, s, kept[0], []byte("x"))
}

func testContentTypes(t *testing.T, s ginflix.ObjectStore) {
	for _, tc := range []struct{ key, given, want string }{
		{ginflix.HLSPrefix("v1") + "master.m3u8", "", "application/vnd.apple.mpegurl"},
		{ginflix.HLSPrefix("v1") + "720p/index.m3u8", "application/vnd.apple.mpegurl", "application/vnd.apple.mpegurl"},
		{ginflix.HLSPrefix("v1") + "720p/seg_001.m4s", "", "video/iso.segment"},
		{ginflix.HLSPrefix("v1") + "720p/seg_002.m4s", "video/iso.segment", "video/iso.segment"},
		{ginflix.HLSPrefix("v1") + "720p/init.mp4", "", "video/mp4"},
		{ginflix.HLSPrefix("v1") + "480p/seg_001.ts", "", "video/mp2t"},
		{ginflix.ThumbnailPrefix("v1") + "poster.webp", "", "image/webp"},
		{ginflix.ThumbnailPrefix("v1") + "poster.jpg", "", "image/jpeg"},
		{ginflix.ThumbnailPrefix("v1") + "sprite.png", "", "image/png"},
		{ginflix.PrefixSubtitles + "v1/en.vtt", "", "text/vtt"},
		{ginflix.PrefixTemp + "job.json", "", "application/json"},
		{ginflix.PrefixTemp + "blob", "", "application/octet-stream"},
	} {
		if err := s.Put(t.Context(), tc.key, strings.NewReader("x"), 1, tc.given); err != nil {
			t.Fatalf("Put(%q): %v", tc.key, err)
		}
		if info := stat(t, s, tc.key); info.ContentType != tc.want {
			t.Errorf("Stat(%q).ContentType = %q, want %q", tc.key, info.ContentType, tc.want)
		}
		if _, info := get(t, s, tc.key, nil); info.ContentType != tc.want {
			t.Errorf("Get(%q).ContentType = %q, want %q", tc.key, info.ContentType, tc.want)
		}
	}
}

func testConcurrentPuts(t *testing.T, s ginflix.ObjectStore) {
	const n = 16
	data := make([][]byte, n)
	key := func(i int) string { return fmt.Sprintf("%s%d/seg_%03d.m4s", ginflix.HLSPrefix("v1"), i%3, i) }
	var wg sync.WaitGroup
	for i := range n {
		data[i] = randomBytes(1000*i+1, uint64(i))
		wg.Go(func() {
			size := int64(len(data[i]))
			if i%2 == 1 {
				size = -1
			}
			if err := s.Put(t.Context(), key(i), onlyReader{bytes.NewReader(data[i])}, size, ""); err != nil {
				t.Errorf("Put(%q): %v", key(i), err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		got, _ := get(t, s, key(i), nil)
		equal(t, got, data[i])
	}
	if keys := listKeys(t, s, ginflix.HLSPrefix("v1")); len(keys) != n {
		t.Errorf("List found %d objects, want %d: %q", len(keys), n, keys)
	}
}

func testPing(t *testing.T, s ginflix.ObjectStore) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// Helpers.

func put(t *testing.T, s ginflix.ObjectStore, key string, data []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, bytes.NewReader(data), int64(len(data)), ""); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func get(t *testing.T, s ginflix.ObjectStore, key string, rng *ginflix.ByteRange) ([]byte, ginflix.ObjectInfo) {
	t.Helper()
	rc, info, err := s.Get(t.Context(), key, rng)
	if err != nil {
		t.Fatalf("Get(%q, %+v): %v", key, rng, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q, %+v): read: %v", key, rng, err)
	}
	return data, info
}

func stat(t *testing.T, s ginflix.ObjectStore, key string) ginflix.ObjectInfo {
	t.Helper()
	info, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatalf("Stat(%q): %v", key, err)
	}
	return info
}

func listKeys(t *testing.T, s ginflix.ObjectStore, prefix string) []string {
	t.Helper()
	var keys []string
	err := s.List(t.Context(), prefix, func(o ginflix.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}

func wantGetCode(t *testing.T, s ginflix.ObjectStore, key string, rng *ginflix.ByteRange, code string) {
	t.Helper()
	rc, _, err := s.Get(t.Context(), key, rng)
	if err == nil {
		rc.Close()
	}
	wantCode(t, fmt.Sprintf("Get(%q, %+v)", key, rng), err, code)
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := ginflix.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func equal(t *testing.T, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	if len(want) > 64 || len(got) > 64 {
		t.Errorf("got %d bytes (sha256 %x), want %d bytes (sha256 %x)", len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
		return
	}
	t.Errorf("got %q, want %q", got, want)
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// onlyReader hides Seek and ReadAt, as a network body would, so stores
// cannot rewind or measure it.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// failingReader gives good bytes, then fails as a dropped upload would.
type failingReader struct {
	good int
	n    int
}

var errUpload = errors.New("objectstoretest: upload interrupted")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n >= f.good {
		return 0, errUpload
	}
	m := min(len(p), f.good-f.n)
	for i := range p[:m] {
		p[i] = byte(f.n + i)
	}
	f.n += m
	return m, nil
}
