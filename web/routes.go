package web

import (
	_ "embed"
	"net/http"
)

// route is one entry of the API: what the mux serves, whether it needs a
// token, and the handler. The table is the single list of routes: New
// registers it, noRoute and preflight answer from it, and a test checks
// openapi.json against it.
type route struct {
	method string
	// path is both a Go 1.22 mux pattern and an OpenAPI path: {name}
	// segments mean the same in both.
	path string
	// public routes need no token (the customer-facing form uses them);
	// they rate-limit instead.
	public bool
	handle handler
}

func (rt route) pattern() string { return rt.method + " " + rt.path }

var routeTable []route

// init fills the table (a var initializer would loop: the handlers reach
// the table through allowed).
func init() {
	routeTable = []route{
		{http.MethodGet, "/healthz", true, handleHealthz},
		{http.MethodGet, "/readyz", true, handleReadyz},
		{http.MethodGet, "/api/v1/openapi.json", true, handleOpenAPI},

		{http.MethodPost, "/api/v1/callbacks", true, handleCreate},
		{http.MethodGet, "/api/v1/callbacks", false, handleList},
		{http.MethodGet, "/api/v1/callbacks/{id}", false, handleGet},
		{http.MethodDelete, "/api/v1/callbacks/{id}", false, handleCancel},
		{http.MethodPost, "/api/v1/callbacks/{id}/owner", false, handleOwner},
		{http.MethodPost, "/api/v1/callbacks/{id}/resolve", false, handleResolve},

		{http.MethodGet, "/api/v1/queues", false, handleQueues},
		{http.MethodGet, "/api/v1/queues/{queue}", false, handleQueue},
		{http.MethodGet, "/api/v1/queues/{queue}/slots", true, handleSlots},

		{http.MethodPut, "/api/v1/agents/{id}/state", false, handleAgentState},
	}
}

// openAPI is the API's description, kept in the repository beside the code
// it describes.
//
//go:embed openapi.json
var openAPI []byte

func handleOpenAPI(_ *Server, w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	// The document describes the code, which changes only with a deploy.
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(openAPI)
	return err
}
