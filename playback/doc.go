// Package playback issues and checks the tokens that authorise streaming.
// The backend signs them (POST /api/videos/{id}/playback) and the streamer
// verifies them with the same keys and no database round trip.
//
// # Two tokens
//
// A viewer token is per user: it binds a video id, the user's subject and
// an expiry (15 minutes by default) and is signed with the current key.
// Only playlists ask for it (?token=): the master playlist URL the backend
// returns carries it, and the streamer appends the same token to each media
// playlist URI of the master it serves.
//
//	v1.<kid>.<base64url(payload)>.<base64url(HMAC-SHA256)>
//	payload = {"v":"<video id>","u":"<subject>","e":<unix expiry>}
//
// A video token is per video and per time window (one hour by default): an
// HMAC over the video id and the window index, the same string for every
// viewer of that video during the window. Segments, init segments, posters,
// sprites and storyboards ask only for it (?vt=); the streamer appends a
// fresh one to every segment and EXT-X-MAP URI of the media playlists it
// serves, and the catalogue API embeds one in poster URLs.
//
//	v1.<kid>.<window index>.<base64url(HMAC-SHA256, first 16 bytes)>
//
// A video token is accepted during its own window and the next one, so one
// fetched at the very end of a window still lives one full window. Window
// boundaries are offset per video (from a hash of its id) so that not all
// of a CDN's segment URLs turn over at the same instant.
//
// # Why a shared video token (and not the viewer token on every segment)
//
// A CDN keys its cache on the URL. With the viewer token on segment URLs
// (option a) every viewer would have their own copy of every segment in the
// CDN: no hit ratio at all, unless the CDN itself verified our token format
// at the edge, which ties the design to one vendor's token scheme. With a
// shared video token (option b) all viewers of a video in a window fetch the
// same URLs, so the CDN serves them from cache, and the streamer can still
// refuse requests that never went through the backend's authorisation.
// Playlists, which are tiny, carry the viewer token and are never shared:
// they are served "private", so a CDN passes them through to the streamer,
// which checks the viewer token on each of them.
//
// # What a token holder can do
//
//   - Share a segment, poster or sprite URL: it works for anyone for at most
//     two windows (the streamer marks segment responses with an s-maxage that
//     ends with the token, so a CDN stops serving them then too). Nothing
//     more: without a viewer token no playlist can be fetched, so the other
//     segment names are not learnt from the streamer, and a video token of one
//     video does not open another video's objects.
//   - Share the playback URL: it works until the viewer token expires.
//   - Not forge or extend either token, nor move one to another video, key
//     id or window: each is an HMAC over all of these.
//
// Unpublished videos: the backend issues tokens only for playable videos, so
// after unpublishing, access ends when the tokens already issued expire: the
// viewer TTL for playlists, two windows at most for segments and images.
// Deleting a video removes its objects, so they stop streaming at once
// (modulo the streamer's in-memory cache TTL and what a CDN already holds).
//
// # Keys and rotation
//
// Keys come from configuration as "kid1:base64secret,kid2:base64secret"
// (ParseKeys); the first signs, all verify. To rotate, put a new key first
// and keep the old one until the tokens it signed have expired (the viewer
// TTL and two windows), then drop it. Tokens from a key no longer listed are
// refused as expired (401), which tells a player to ask for a new one.
package playback
