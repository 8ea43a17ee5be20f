package streamer

import "net/http"

// route is one endpoint; this list is the streamer's whole surface. GET
// patterns answer HEAD too.
type route struct {
	method  string
	path    string
	handler http.Handler
}

func (r route) pattern() string { return r.method + " " + r.path }

func (s *server) routes() []route {
	h := func(f http.HandlerFunc) http.Handler { return f }
	return []route{
		{"GET", "/stream/health", h(s.handleHealth)},
		{"GET", "/stream/ready", h(s.handleReady)},
		// Viewer token (?token=): playlists.
		{"GET", "/stream/videos/{id}/master.m3u8", h(s.handleMaster)},
		// Viewer token for index.m3u8; video token (?vt=) for init.mp4 and
		// seg_NNNNN.m4s.
		{"GET", "/stream/videos/{id}/{rung}/{file}", h(s.handleRendition)},
		// Video token: poster.jpg, poster.webp, storyboard.vtt, sprite_N.jpg.
		{"GET", "/stream/thumbnails/{id}/{file}", h(s.handleThumbnail)},
		{"OPTIONS", "/stream/", h(s.handlePreflight)},
	}
}

// Routes lists the method and path of every route, for documentation tests.
func Routes() []string {
	var out []string
	for _, r := range (&server{}).routes() {
		out = append(out, r.pattern())
	}
	return out
}
