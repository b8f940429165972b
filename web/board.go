package web

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// The promise board at /board is for supervisors, behind the API token. A
// browser cannot send a bearer header when it navigates, so the token is
// given once, in a login form, and exchanged for a session: a random id in
// an HttpOnly, SameSite=Strict cookie (Secure over TLS), held in memory with
// an expiry. Sessions do not survive a restart; supervisors sign in again.
// Every POST of the board carries the session's CSRF token as well, and the
// board is never framed, so another page can neither read it nor act
// through it.

const (
	sessionCookie = "vhold_board"
	// sessionTTL is a working day and a bit: a supervisor signs in once a
	// shift.
	sessionTTL = 12 * time.Hour
	// maxSessions bounds the memory a stream of logins can take; the
	// session closest to expiry makes room for a new one.
	maxSessions = 1000
	// maxOwnerName bounds the name a supervisor gives (it goes in the
	// journal as the owner).
	maxOwnerName = 100
)

type session struct {
	// name is who signed in: the owner of the callbacks they take.
	name    string
	csrf    string
	expires time.Time
}

// sessions are the board's signed-in browsers by session id.
type sessions struct {
	mu   sync.Mutex
	byID map[string]session
}

func (ss *sessions) add(name string, now time.Time) (string, session) {
	id, s := rand.Text(), session{name: name, csrf: rand.Text(), expires: now.Add(sessionTTL)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, v := range ss.byID {
		if !now.Before(v.expires) {
			delete(ss.byID, k)
		}
	}
	if len(ss.byID) >= maxSessions {
		oldest := ""
		for k, v := range ss.byID {
			if oldest == "" || v.expires.Before(ss.byID[oldest].expires) {
				oldest = k
			}
		}
		delete(ss.byID, oldest)
	}
	ss.byID[id] = s
	return id, s
}

func (ss *sessions) get(id string, now time.Time) (session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[id]
	if ok && !now.Before(s.expires) {
		delete(ss.byID, id)
		return session{}, false
	}
	return s, ok
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, id)
}

// session returns the request's board session, if it has a live one.
func (s *Server) session(r *http.Request) (string, session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return "", session{}, false
	}
	ses, ok := s.sessions.get(c.Value, s.clock.Now())
	return c.Value, ses, ok
}

// secure reports whether the browser reached vhold over TLS (directly, or
// through the trusted proxy), so the cookie is never sent in the clear
// where it need not be.
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || s.trustXFF && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, id string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/board", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure(r),
	})
}

// sameOrigin refuses a POST a browser sent from another site. SameSite
// already keeps the cookie off such requests; this also covers the login,
// which has no session yet.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// csrfOK compares the form's token with the session's in constant time.
func csrfOK(r *http.Request, ses session) bool {
	got := r.PostForm.Get("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ses.csrf)) == 1
}

// readForm parses a small urlencoded body.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	return r.ParseForm()
}

type loginPage struct {
	pageBase
	Name  string
	Error string
}

func handleLoginPage(s *Server, w http.ResponseWriter, r *http.Request) error {
	if _, _, ok := s.session(r); ok {
		http.Redirect(w, r, "/board", http.StatusSeeOther)
		return nil
	}
	p := loginPage{pageBase: pageBase{Lang: pageLanguage(r)}}
	if r.URL.Query().Has("expired") {
		p.Error = p.T("login.expired")
	}
	return s.render(w, http.StatusOK, "login", p)
}

// handleLogin exchanges the API token for a session. Attempts are limited
// per client address like the public routes, so the login is no faster a
// way to guess a token than the API.
func handleLogin(s *Server, w http.ResponseWriter, r *http.Request) error {
	p := loginPage{pageBase: pageBase{Lang: pageLanguage(r)}}
	if !sameOrigin(r) {
		http.Error(w, "cross-site login refused", http.StatusForbidden)
		return nil
	}
	if err := s.readForm(w, r); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return nil
	}
	p.Name = strings.TrimSpace(r.PostForm.Get("name"))
	if ok, wait := s.loginIP.allow(s.clientKey(r)); !ok {
		secs := max(int(wait.Round(time.Second)/time.Second), 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		p.Error = p.T("login.limited", "seconds", strconv.Itoa(secs))
		return s.render(w, http.StatusTooManyRequests, "login", p)
	}
	if !s.tokenOK(strings.TrimSpace(r.PostForm.Get("token"))) {
		p.Error = p.T("login.bad")
		if len(s.tokens) == 0 {
			p.Error = p.T("login.notokens")
		}
		s.log.WithField("client", s.clientKey(r)).Warn("board: sign-in with a token that is not accepted")
		return s.render(w, http.StatusUnauthorized, "login", p)
	}
	if p.Name == "" || len([]rune(p.Name)) > maxOwnerName {
		p.Error = p.T("login.noname")
		return s.render(w, http.StatusBadRequest, "login", p)
	}
	id, _ := s.sessions.add(p.Name, s.clock.Now())
	s.setSessionCookie(w, r, id, int(sessionTTL/time.Second))
	s.log.WithField("name", p.Name).Info("board: signed in")
	http.Redirect(w, r, "/board", http.StatusSeeOther)
	return nil
}

func handleLogout(s *Server, w http.ResponseWriter, r *http.Request) error {
	id, ses, ok := s.session(r)
	if err := s.readForm(w, r); err != nil || !ok || !sameOrigin(r) || !csrfOK(r, ses) {
		http.Redirect(w, r, "/board/login", http.StatusSeeOther)
		return nil
	}
	s.sessions.remove(id)
	s.setSessionCookie(w, r, "", -1)
	http.Redirect(w, r, "/board/login", http.StatusSeeOther)
	return nil
}

// boardPage is the board's template data: the whole page, or the two parts
// (figures, rows) the event stream sends.
type boardPage struct {
	pageBase
	Name, CSRF   string
	Flash, Error string
	boardView
}

func handleBoard(s *Server, w http.ResponseWriter, r *http.Request) error {
	_, ses, ok := s.session(r)
	if !ok {
		http.Redirect(w, r, "/board/login", http.StatusSeeOther)
		return nil
	}
	p := s.boardPageFor(r, ses, s.live.state(r.Context()))
	if done := r.URL.Query().Get("done"); done == "take" || done == "resolve" || done == "cancel" {
		if id, err := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64); err == nil {
			p.Flash = p.T("board.done."+done, "id", strconv.FormatInt(id, 10))
		}
	}
	return s.render(w, http.StatusOK, "board", p)
}

func (s *Server) boardPageFor(r *http.Request, ses session, st *boardState) boardPage {
	lang := pageLanguage(r)
	return boardPage{pageBase: pageBase{Lang: lang}, Name: ses.name, CSRF: ses.csrf, boardView: s.boardView(lang, st)}
}

// handleBoardAction takes ownership of, resolves in writing, or cancels a
// callback, through the same verbs as the API. Its own script asks for
// JSON (and learns the change from the event stream); without the script
// the browser gets the board again.
func handleBoardAction(s *Server, w http.ResponseWriter, r *http.Request) error {
	wantJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
	lang := pageLanguage(r)
	_, ses, ok := s.session(r)
	if !ok {
		if wantJSON {
			writeJSON(w, http.StatusUnauthorized, &apiError{Code: "unauthorized", Reason: tr(lang, "login.expired")})
			return nil
		}
		http.Redirect(w, r, "/board/login?expired=1", http.StatusSeeOther)
		return nil
	}
	if err := s.readForm(w, r); err != nil || !sameOrigin(r) || !csrfOK(r, ses) {
		return s.actionFailed(w, r, ses, wantJSON, &apiError{Status: http.StatusForbidden, Code: "csrf", Reason: tr(lang, "board.csrf")})
	}
	id, err := parseID(r)
	if err != nil {
		return s.actionFailed(w, r, ses, wantJSON, err)
	}
	action := r.PathValue("action")
	ctx := r.Context()
	switch action {
	case "take":
		_, err = s.take(ctx, id, ses.name)
	case "resolve":
		_, err = s.resolve(ctx, id, ses.name)
	case "cancel":
		_, err = s.cancel(ctx, id, "cancelled from the board by "+ses.name, "board")
	default:
		http.NotFound(w, r)
		return nil
	}
	if err != nil {
		return s.actionFailed(w, r, ses, wantJSON, err)
	}
	s.log.WithFields(logrus.Fields{"ticket": id, "action": action, "by": ses.name}).Info("board action")
	if wantJSON {
		writeJSON(w, http.StatusOK, map[string]string{"message": tr(lang, "board.done."+action, "id", strconv.FormatInt(int64(id), 10))})
		return nil
	}
	http.Redirect(w, r, fmt.Sprintf("/board?done=%s&id=%d#cb-%d", action, id, id), http.StatusSeeOther)
	return nil
}

// actionFailed answers a refused action: JSON for the board's script, the
// board with the reason otherwise.
func (s *Server) actionFailed(w http.ResponseWriter, r *http.Request, ses session, wantJSON bool, err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	if wantJSON {
		writeJSON(w, ae.Status, ae)
		return nil
	}
	p := s.boardPageFor(r, ses, s.live.state(r.Context()))
	p.Error = ae.Reason
	return s.render(w, ae.Status, "board", p)
}
