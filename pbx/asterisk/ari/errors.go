package ari

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
)

// Sentinels the flows branch on with errors.Is. An *Error matches the one
// for its status; some match two (a 500 "Allocation failed" is both
// ErrAllocationFailed and ErrServer), so test the specific one first.
var (
	// ErrNotFound: the object is gone. For a channel that is the normal end
	// of a flow (the caller hung up while we asked to play), not a fault.
	// A 400 "Channel not found" from addChannel/removeChannel matches too:
	// Asterisk answers an unknown channel there with 400, not 404
	// (traces/errors.jsonl), and it means the same thing.
	ErrNotFound = errors.New("not found")
	// ErrNoVariable: GetVar of a variable that is not set. Asterisk answers
	// it with a 404 like a missing channel, but the channel is alive, so it
	// does not match ErrNotFound.
	ErrNoVariable = errors.New("variable not set")
	// ErrConflict (409): wrong state (channel not in Stasis, bridge without
	// MOH) or a duplicate id (channelId, bridgeId already in use).
	ErrConflict = errors.New("conflict")
	// ErrUnprocessable (422): e.g. removing a channel that is not in the
	// bridge, or subscribing to an event source that does not exist.
	ErrUnprocessable = errors.New("unprocessable")
	// ErrPrecondition (412): the channel is in a state the verb cannot use.
	ErrPrecondition = errors.New("precondition failed")
	// ErrBadRequest (400): a missing or malformed parameter.
	ErrBadRequest = errors.New("bad request")
	// ErrUnauthorized (401): wrong ARI user or password.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrServer: any 5xx.
	ErrServer = errors.New("server error")
	// ErrAllocationFailed: originate or create could not make the channel at
	// all: an endpoint without contact, an unknown endpoint or technology
	// (500 {"error":"Allocation failed"}). The dial never started, so no
	// event will follow.
	ErrAllocationFailed = errors.New("allocation failed")
	// ErrApplicationReplaced: another consumer opened the same ARI
	// application and Asterisk moved it there; the stream stops instead of
	// fighting for it.
	ErrApplicationReplaced = errors.New("ARI application replaced by another consumer")
)

// Error is an ARI request that got an HTTP error status, with what Asterisk
// said about it. Method and Path name the request (Path without the /ari
// prefix and without the query, which may hold credentials).
type Error struct {
	Status  int
	Method  string
	Path    string
	Message string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("ari %s %s: %d %s", e.Method, e.Path, e.Status, msg)
}

// Is maps the status (and, where Asterisk overloads a status, the message)
// to the package's sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		if e.Status == http.StatusNotFound {
			return !e.isMissingVariable()
		}
		return e.Status == http.StatusBadRequest && strings.EqualFold(e.Message, "Channel not found")
	case ErrNoVariable:
		return e.isMissingVariable()
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrUnprocessable:
		return e.Status == http.StatusUnprocessableEntity
	case ErrPrecondition:
		return e.Status == http.StatusPreconditionFailed
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrServer:
		return e.Status >= 500
	case ErrAllocationFailed:
		return e.Status >= 500 && strings.EqualFold(e.Message, "Allocation failed")
	}
	return false
}

// isMissingVariable recognises "404 Provided variable was not found" from
// GET /channels/{id}/variable (traces/errors.jsonl); a missing channel says
// "Provided channel was not found" there.
func (e *Error) isMissingVariable() bool {
	return e.Status == http.StatusNotFound && strings.Contains(strings.ToLower(e.Message), "variable")
}

// newError builds an *Error from a response body. Asterisk answers most
// errors with {"message": ...}, originate/create failures with
// {"error": "Allocation failed"}, and a bad WebSocket upgrade with an HTML
// page; all three give a readable Message.
func newError(status int, method, path string, body []byte) *Error {
	return &Error{Status: status, Method: method, Path: path, Message: errorMessage(body)}
}

var (
	htmlPara = regexp.MustCompile(`(?is)<p>(.*?)</p>`)
	htmlTag  = regexp.MustCompile(`(?s)<[^>]*>`)
)

func errorMessage(body []byte) string {
	var j struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &j) == nil {
		if j.Message != "" {
			return j.Message
		}
		if j.Error != "" {
			return j.Error
		}
	}
	text := string(body)
	if m := htmlPara.FindStringSubmatch(text); m != nil {
		text = m[1]
	}
	text = html.UnescapeString(htmlTag.ReplaceAllString(text, " "))
	text = strings.Join(strings.Fields(text), " ")
	const max = 200
	if len(text) > max {
		text = text[:max] + "…"
	}
	return text
}
