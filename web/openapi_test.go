package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// openAPIDoc is the part of the document the checks read.
type openAPIDoc struct {
	OpenAPI  string                                `json:"openapi"`
	Security []map[string][]string                 `json:"security"`
	Paths    map[string]map[string]json.RawMessage `json:"paths"`
}

type operation struct {
	Security *[]map[string][]string `json:"security"`
}

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true}

// TestOpenAPIMatchesRoutes checks the document and the mux against the
// route table: every route is registered at its pattern and described with
// its method, every described operation is a route, and an operation is
// public (security: []) exactly when its route needs no token.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearer"] == nil {
		t.Errorf("global security %v, want bearer", doc.Security)
	}

	described := map[string]bool{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if !httpMethods[method] {
				continue // parameters, summary…
			}
			key := strings.ToUpper(method) + " " + path
			described[key] = true
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			public := op.Security != nil && len(*op.Security) == 0
			if rt, ok := findRoute(key); ok && rt.public != public {
				t.Errorf("%s: document says public=%v, the route table %v", key, public, rt.public)
			}
		}
	}

	s := newFixture(t).srv
	inTable := map[string]bool{}
	for _, rt := range routeTable {
		key := rt.pattern()
		if inTable[key] {
			t.Errorf("%s is in the route table twice", key)
		}
		inTable[key] = true
		if !described[key] {
			t.Errorf("%s is served but not in openapi.json", key)
		}
		// The mux routes a request for it to exactly this pattern.
		r := httptest.NewRequest(rt.method, fill(rt.path), nil)
		if _, pattern := s.mux.Handler(r); pattern != key {
			t.Errorf("%s: the mux routes it to %q", key, pattern)
		}
	}
	var extra []string
	for key := range described {
		if !inTable[key] {
			extra = append(extra, key)
		}
	}
	sort.Strings(extra)
	for _, key := range extra {
		t.Errorf("%s is in openapi.json but not served", key)
	}
}

func findRoute(key string) (route, bool) {
	for _, rt := range routeTable {
		if rt.pattern() == key {
			return rt, true
		}
	}
	return route{}, false
}

// Every $ref in the document points at something it defines.
func TestOpenAPIRefsResolve(t *testing.T) {
	var doc any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					if _, found := pointer(doc, ref); !found {
						t.Errorf("$ref %q does not resolve", ref)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
}

// pointer resolves a local JSON pointer ("#/components/schemas/Error").
func pointer(doc any, ref string) (any, bool) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	cur := doc
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[strings.NewReplacer("~1", "/", "~0", "~").Replace(part)]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// The document served is the one in the repository, byte for byte.
func TestOpenAPIServed(t *testing.T) {
	f := newFixture(t)
	rec := f.do(req{path: "/api/v1/openapi.json"})
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	disk, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Body.Bytes(), disk) {
		t.Error("served document differs from web/openapi.json")
	}
}

// Every error code the handlers can answer with is listed in the
// document's Error schema, and the list names no code that is never sent.
func TestOpenAPIErrorCodes(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Error struct {
							Enum []string `json:"enum"`
						} `json:"error"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, c := range doc.Components.Schemas.Error.Properties.Error.Enum {
		listed[c] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	code := regexp.MustCompile(`fail\(http\.Status\w+, "(\w+)"`)
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range code.FindAllSubmatch(src, -1) {
			used[string(m[1])] = true
		}
	}
	if len(used) < 10 {
		t.Fatalf("found only %d codes in the sources; has fail's signature changed?", len(used))
	}
	for c := range used {
		if !listed[c] {
			t.Errorf("error code %q is sent but not listed in openapi.json", c)
		}
	}
	for c := range listed {
		if !used[c] {
			t.Errorf("error code %q is listed in openapi.json but never sent", c)
		}
	}
}
