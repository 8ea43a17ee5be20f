package playback

import (
	"net/url"
	"strings"
)

// The URLs below start at base: where the streamer's /stream is reachable
// from browsers, i.e. "https://media.example.org/stream" or, with a CDN in
// front of the streamer, the CDN's URL of the same path
// ("https://cdn.example.org/stream"). The streamer's playlists use relative
// URIs, so everything a player fetches after the master goes to the same
// host as the master.

// MasterURL is the playback URL the backend returns: the master playlist
// with the viewer token.
func MasterURL(base, videoID, viewerToken string) string {
	return strings.TrimSuffix(base, "/") + "/videos/" + videoID + "/master.m3u8?token=" + url.QueryEscape(viewerToken)
}

// ThumbnailURL is the URL of one of a video's images or its storyboard
// ("poster.jpg", "poster.webp", "storyboard.vtt") with a video token.
func ThumbnailURL(base, videoID, file, videoToken string) string {
	return strings.TrimSuffix(base, "/") + "/thumbnails/" + videoID + "/" + file + "?vt=" + url.QueryEscape(videoToken)
}
