package web

import (
	"embed"
	"net/http"
	"path"
	"strings"
)

// The HTML side of the server: the public callback form under /callback and
// the supervisors' promise board under /board. These are pages for people,
// not API: they are not in routeTable or openapi.json, answer in HTML (the
// board's actions also in JSON to its own script), and carry a Content
// Security Policy that allows only the server's own scripts and styles.

// uiFS holds the page templates, the stylesheet and the two small scripts;
// there is no build step, what is in web/ui is what browsers get.
//
//go:embed ui
var uiFS embed.FS

// pageRoute is one HTML route.
type pageRoute struct {
	method, path string
	// embeddable pages may be framed by the allowed origins (the form's
	// iframe snippet); the others by nobody.
	embeddable bool
	handle     handler
}

var pageTable []pageRoute

func init() {
	pageTable = []pageRoute{
		{http.MethodGet, "/callback", true, handleFormGet},
		{http.MethodPost, "/callback", true, handleFormPost},
		{http.MethodGet, "/callback/assets/{file}", true, handleAsset},

		{http.MethodGet, "/board", false, handleBoard},
		{http.MethodGet, "/board/login", false, handleLoginPage},
		{http.MethodPost, "/board/login", false, handleLogin},
		{http.MethodPost, "/board/logout", false, handleLogout},
		{http.MethodGet, "/board/events", false, handleEvents},
		{http.MethodPost, "/board/callbacks/{id}/{action}", false, handleBoardAction},
		{http.MethodGet, "/board/assets/{file}", false, handleAsset},
	}
}

// MountPages registers the form and the board on mux, beside the API that
// vhold serve mounts at /api/ and /readyz: the pages live under /callback
// and /board so that a mux in front needs these four patterns and no more.
func (s *Server) MountPages(mux *http.ServeMux) {
	for _, p := range []string{"/callback", "/callback/", "/board", "/board/"} {
		mux.Handle(p, s)
	}
}

// wrapPage sets what every page shares: no caching (the board carries
// customers' data and a CSRF token; the form, a fresh slot list), no MIME
// sniffing, and the Content Security Policy; then runs the handler.
func (s *Server) wrapPage(pr pageRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", s.csp(pr.embeddable))
		if !pr.embeddable {
			h.Set("X-Frame-Options", "DENY")
		}
		if err := pr.handle(s, w, r); err != nil {
			s.log.WithError(err).WithFields(map[string]any{"method": r.Method, "path": r.URL.Path}).Error("page")
			http.Error(w, "vhold could not complete the request; the server log has the details", http.StatusInternalServerError)
		}
	})
}

// csp allows the server's own scripts, styles and connections (the API, the
// board's event stream) and nothing else; frame-ancestors is where the
// origin allow-list lets customer sites embed the form.
func (s *Server) csp(embeddable bool) string {
	frames := "'none'"
	if embeddable {
		frames = "'self'"
		for o := range s.origins {
			frames += " " + o
		}
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors " + frames
}

// assetTypes are the files under ui/ served as assets (templates are not).
var assetTypes = map[string]string{
	"style.css": "text/css; charset=utf-8",
	"form.js":   "text/javascript; charset=utf-8",
	"board.js":  "text/javascript; charset=utf-8",
}

func handleAsset(_ *Server, w http.ResponseWriter, r *http.Request) error {
	name := path.Base(r.PathValue("file"))
	ct, ok := assetTypes[name]
	if !ok || (strings.HasPrefix(r.URL.Path, "/callback/") && name == "board.js") {
		http.NotFound(w, r)
		return nil
	}
	b, err := uiFS.ReadFile("ui/" + name)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ct)
	// Assets change only with a deploy; a few minutes of caching saves the
	// form's visitors a round trip without pinning an old script for long.
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err = w.Write(b)
	return err
}
