// Package web serves the built web apps: the viewer app at / and the
// admin app at /admin/, single-page apps whose unknown paths fall back to
// their index.html. Hashed assets are cached for good; index pages are
// revalidated on every load so a new release shows at once.
package web

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// dist holds what `npm run build` wrote: dist/user and dist/admin. The
// README keeps the pattern valid before any build.
//
//go:embed all:dist
var dist embed.FS

// Built returns the embedded build output.
func Built() fs.FS {
	sub, _ := fs.Sub(dist, "dist")
	return sub
}

// NewHandler serves the apps in files (with user/ and admin/ at its root).
func NewHandler(files fs.FS) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/admin/", app(files, "admin", "/admin/"))
	mux.Handle("/", app(files, "user", "/"))
	return mux
}

// app serves one SPA: a file when the path names one, its index.html for
// any other path (client-side routes), a plain page when it is not built.
func app(files fs.FS, dir, base string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		rel := strings.TrimPrefix(path.Clean(r.URL.Path), strings.TrimSuffix(base, "/"))
		rel = strings.TrimPrefix(rel, "/")
		name := path.Join(dir, rel)
		if rel != "" && rel != "index.html" {
			if st, err := fs.Stat(files, name); err == nil && !st.IsDir() {
				serveFile(w, r, files, name, strings.HasPrefix(rel, "assets/"))
				return
			}
			if strings.HasPrefix(rel, "assets/") || path.Ext(rel) != "" {
				http.NotFound(w, r) // a missing asset is a 404, not the app
				return
			}
		}
		index := path.Join(dir, "index.html")
		if _, err := fs.Stat(files, index); err != nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(notBuilt))
			return
		}
		serveFile(w, r, files, index, false)
	})
}

func serveFile(w http.ResponseWriter, r *http.Request, files fs.FS, name string, immutable bool) {
	b, err := fs.ReadFile(files, name)
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	h := w.Header()
	if immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.HasSuffix(name, ".html") {
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

const notBuilt = `<!doctype html><html lang="fr"><meta charset="utf-8"><title>Ginflix</title>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>Les applications web ne sont pas construites</h1>
<p>Lancez <code>make web</code> (ou <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>), puis redémarrez Ginflix. L’API répond déjà sous <code>/api/</code>.</p>
<p lang="en">The web apps are not built: run <code>make web</code>, then restart Ginflix. The API already answers under <code>/api/</code>.</p>
</body></html>
`
