package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/tenant"
)

// htmlRoutes are the routes of routes.go that serve HTML pages or static
// files, not JSON, and so are not described by the OpenAPI document. Any
// other route added to routes.go must be documented in openapi.json.
var htmlRoutes = []string{
	"GET /{poolId}/login",
	"POST /{poolId}/login",
	"GET /static/idgate.css",
	"GET /admin",
	"GET /admin/setup",
	"POST /admin/setup",
	"GET /admin/join",
	"POST /admin/join",
	"GET /admin/signin",
	"POST /admin/signin",
	"POST /admin/signin/mfa",
	"POST /admin/signout",
	"GET /admin/admins",
	"POST /admin/admins/invite",
	"GET /admin/projects",
	"GET /admin/projects/new",
	"POST /admin/projects",
	"GET /admin/projects/{projectId}",
	"POST /admin/projects/{projectId}/apps",
	"POST /admin/projects/{projectId}/apikeys",
	"POST /admin/apikeys/{keyId}/revoke",
	"GET /admin/apps/{clientId}",
	"POST /admin/apps/{clientId}/urls",
	"POST /admin/apps/{clientId}/validity",
	"POST /admin/apps/{clientId}/secret",
	"GET /admin/projects/{projectId}/users",
	"GET /admin/pools/{poolId}/users/{sub}",
	"POST /admin/pools/{poolId}/users/{sub}/attributes",
	"POST /admin/pools/{poolId}/users/{sub}/sessions/{sid}/revoke",
	"POST /admin/pools/{poolId}/users/{sub}/signout",
	"POST /admin/pools/{poolId}/users/{sub}/disable",
	"POST /admin/pools/{poolId}/users/{sub}/enable",
	"GET /admin/pools/{poolId}/users/{sub}/export",
	"GET /admin/pools/{poolId}/users/{sub}/delete",
	"POST /admin/pools/{poolId}/users/{sub}/delete",
	"GET /admin/projects/{projectId}/audit",
	"GET /admin/projects/{projectId}/audit/export",
	"GET /admin/projects/{projectId}/webhooks",
	"POST /admin/projects/{projectId}/webhooks",
	"GET /admin/webhooks/{webhookId}",
	"POST /admin/webhooks/{webhookId}/disable",
	"POST /admin/webhook-deliveries/{deliveryId}/retry",
	"GET /admin/outbox",
	"GET /admin/static/console.css",
	"GET /admin/static/console.js",
}

// pendingRoutes are operations documented ahead of the route that serves
// them: they may be in openapi.json before routes.go registers them. Once
// a route is served it is checked like any other; then drop it from here.
var pendingRoutes = []string{
	"GET /{poolId}/authorize", // the OIDC authorization endpoint, being added to the hosted login
}

// httpMethods are the operation keys of an OpenAPI path item.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

func openAPIPaths(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("openapi.json has no paths object")
	}
	return paths
}

// operation returns the operation object of method at path, or nil.
func operation(paths map[string]any, path, method string) map[string]any {
	item, _ := paths[path].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	return op
}

// route is one pattern registered on the mux.
type route struct{ method, path string }

func (r route) String() string { return strings.TrimSpace(r.method + " " + r.path) }

// routePattern matches the literal patterns of mux.Handle and
// mux.HandleFunc calls: an optional method, then the path.
var routePattern = regexp.MustCompile(`mux\.Handle(?:Func)?\(\s*"(?:([A-Z]+) )?(/[^"]*)"`)

// registeredRoutes reads the literal route patterns from routes.go, so that
// a route added later is checked without touching this test. The session
// API, registered in a loop, is checked through sessionAPI() instead.
func registeredRoutes(t *testing.T) []route {
	t.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatalf("read routes.go: %v", err)
	}
	var out []route
	for _, m := range routePattern.FindAllStringSubmatch(string(src), -1) {
		if m[1] == "" && m[2] == "/" {
			continue // the catch-all JSON/HTML 404
		}
		out = append(out, route{method: m[1], path: m[2]})
	}
	return out
}

func TestOpenAPIVersionAndInfo(t *testing.T) {
	doc := loadOpenAPI(t)
	v, _ := doc["openapi"].(string)
	if !strings.HasPrefix(v, "3.1") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] != "idgate" || info["version"] == nil || info["version"] == "" {
		t.Errorf("info = %v, want title idgate and a version", info)
	}
	comps, _ := doc["components"].(map[string]any)
	schemes, _ := comps["securitySchemes"].(map[string]any)
	apiKey, _ := schemes["apiKey"].(map[string]any)
	if apiKey["type"] != "apiKey" || apiKey["in"] != "header" || apiKey["name"] != "x-api-key" {
		t.Errorf("securitySchemes.apiKey = %v, want an apiKey in header x-api-key", apiKey)
	}
	bearer, _ := schemes["adminBearer"].(map[string]any)
	if bearer["type"] != "http" || bearer["scheme"] != "bearer" {
		t.Errorf("securitySchemes.adminBearer = %v, want http bearer", bearer)
	}
	if _, ok := comps["schemas"].(map[string]any)["Error"]; !ok {
		t.Error("components.schemas.Error is missing")
	}
}

// hasSecurity reports whether op requires the named security scheme.
func hasSecurity(op map[string]any, scheme string) bool {
	reqs, _ := op["security"].([]any)
	for _, r := range reqs {
		if m, ok := r.(map[string]any); ok {
			if _, ok := m[scheme]; ok {
				return true
			}
		}
	}
	return false
}

// noPermStore knows one API key, which has no permission at all, so that
// every session API handler answers 403 naming the permission it needs.
// Only the methods the key check uses are implemented.
type noPermStore struct{ idgate.Store }

func (noPermStore) GetAPIKeyByHash(context.Context, string) (idgate.APIKey, error) {
	return idgate.APIKey{ID: "key_openapi_test", ProjectID: "prj_openapi_test"}, nil
}

func (noPermStore) GetPoolByProject(context.Context, string) (idgate.Pool, error) {
	return idgate.Pool{ID: "local_openapitest", ProjectID: "prj_openapi_test"}, nil
}

func (noPermStore) InTx(context.Context, func(idgate.Store) error) error { return nil } // the denial event

var lacksPermission = regexp.MustCompile(`lacks the (\S+) permission`)

// servedPermission asks the real handler which permission it requires.
func servedPermission(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", "igk_openapi_test")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body apiError
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	m := lacksPermission.FindStringSubmatch(body.Description)
	if rec.Code != http.StatusForbidden || m == nil {
		t.Fatalf("POST %s with a key without permissions: %d %s; want 403 naming the permission", path, rec.Code, rec.Body)
	}
	return m[1]
}

// TestOpenAPIDocumentsSessionAPI checks every session API path (aliases
// included) is documented as a POST with the API key and the permission
// the handler really requires. Building sessionAPI() reads no field of the
// Server (it only makes closures), so a zero Server lists the paths.
func TestOpenAPIDocumentsSessionAPI(t *testing.T) {
	paths := openAPIPaths(t, loadOpenAPI(t))
	if len((&Server{}).sessionAPI()) == 0 {
		t.Fatal("sessionAPI() is empty")
	}
	srv := New(Deps{Tenants: tenant.NewService(noPermStore{}, nil, "", "", nil)}, nil)
	for path, h := range srv.sessionAPI() {
		op := operation(paths, path, http.MethodPost)
		if op == nil {
			t.Errorf("POST %s is served but not documented in openapi.json", path)
			continue
		}
		if !hasSecurity(op, "apiKey") {
			t.Errorf("POST %s: security does not require apiKey", path)
		}
		want := servedPermission(t, h, path)
		if got, _ := op["x-permission"].(string); got != want {
			t.Errorf("POST %s: x-permission is %q, the handler requires %q", path, got, want)
		}
		if desc, _ := op["description"].(string); !strings.Contains(desc, "`"+want+"`") {
			t.Errorf("POST %s: description does not name the permission %s", path, want)
		}
		if op["requestBody"] == nil {
			t.Errorf("POST %s: no requestBody", path)
		}
	}
}

// TestOpenAPIDocumentsRegisteredRoutes checks every JSON route registered
// in routes.go is documented with its method, and that no documented
// operation is left over from a route that is gone.
func TestOpenAPIDocumentsRegisteredRoutes(t *testing.T) {
	paths := openAPIPaths(t, loadOpenAPI(t))
	routes := registeredRoutes(t)

	// Guard the extraction itself: if routes.go changes shape so that the
	// regexp finds nothing, this test must fail rather than pass vacuously.
	var admin, wellKnown int
	for _, r := range routes {
		if strings.HasPrefix(r.path, "/admin/api/") {
			admin++
		}
		if strings.Contains(r.path, "/.well-known/") {
			wellKnown++
		}
	}
	if admin == 0 || wellKnown == 0 {
		t.Fatalf("found %d admin and %d well-known routes in routes.go; the route regexp no longer matches it", admin, wellKnown)
	}

	served := map[string]bool{}
	for path := range (&Server{}).sessionAPI() {
		served[route{http.MethodPost, path}.String()] = true
	}
	for _, r := range routes {
		served[r.String()] = true
		if slices.Contains(htmlRoutes, r.String()) {
			continue
		}
		if r.method == "" {
			item, _ := paths[r.path].(map[string]any)
			if item == nil {
				t.Errorf("route %q is served but not documented in openapi.json", r.path)
			}
			continue
		}
		if operation(paths, r.path, r.method) == nil {
			t.Errorf("route %q is served but not documented in openapi.json", r.String())
			continue
		}
		op := operation(paths, r.path, r.method)
		if strings.HasPrefix(r.path, "/admin/api/") && !hasSecurity(op, "adminBearer") {
			t.Errorf("%s: security does not require adminBearer", r)
		}
	}

	// Every documented operation must be served (no stale documentation).
	keys := make([]string, 0, len(paths))
	for p := range paths {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, p := range keys {
		item, _ := paths[p].(map[string]any)
		for _, m := range httpMethods {
			if _, ok := item[m]; !ok {
				continue
			}
			r := route{strings.ToUpper(m), p}
			if !served[r.String()] && !served[route{"", p}.String()] && !slices.Contains(pendingRoutes, r.String()) {
				t.Errorf("openapi.json documents %s, which routes.go does not serve", r)
			}
		}
	}
}

// discoveryKey matches the keys of the discovery document's map literal.
var discoveryKey = regexp.MustCompile(`(?m)^\s*"([a-z_]+)":`)

// TestOpenAPIDiscoveryDocument checks the OpenIDConfiguration schema names
// every member the discovery handler of wellknown.go returns (all of them
// required), and no other, reading the handler's map literal.
func TestOpenAPIDiscoveryDocument(t *testing.T) {
	src, err := os.ReadFile("wellknown.go")
	if err != nil {
		t.Fatalf("read wellknown.go: %v", err)
	}
	_, body, ok := strings.Cut(string(src), "doc := map[string]any{")
	body, _, ok2 := strings.Cut(body, "\n\t}\n")
	if !ok || !ok2 {
		t.Fatal("the discovery document's map literal (doc := map[string]any{...}) is not in wellknown.go any more")
	}
	served := map[string]bool{}
	for _, m := range discoveryKey.FindAllStringSubmatch(body, -1) {
		served[m[1]] = true
	}
	if !served["issuer"] || !served["jwks_uri"] {
		t.Fatalf("found %d discovery members in wellknown.go, without issuer or jwks_uri; the regexp no longer matches it", len(served))
	}
	schema, _ := loadOpenAPI(t)["components"].(map[string]any)["schemas"].(map[string]any)["OpenIDConfiguration"].(map[string]any)
	props, _ := schema["properties"].(map[string]any)
	required := map[string]bool{}
	for _, r := range schema["required"].([]any) {
		required[r.(string)] = true
	}
	for k := range served {
		if props[k] == nil {
			t.Errorf("the discovery document returns %q, which OpenIDConfiguration does not describe", k)
		} else if !required[k] {
			t.Errorf("the discovery document always returns %q, but OpenIDConfiguration does not require it", k)
		}
	}
	for k := range props {
		if !served[k] {
			t.Errorf("OpenIDConfiguration describes %q, which the discovery document does not return", k)
		}
	}
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// TestOpenAPIPathParameters checks every {name} of a path is declared as a
// required path parameter of the path item or of each operation.
func TestOpenAPIPathParameters(t *testing.T) {
	doc := loadOpenAPI(t)
	paths := openAPIPaths(t, doc)
	declared := func(list any) map[string]bool {
		out := map[string]bool{}
		items, _ := list.([]any)
		for _, it := range items {
			p, _ := it.(map[string]any)
			if ref, ok := p["$ref"].(string); ok {
				target, err := resolvePointer(doc, ref)
				if err != "" {
					continue // reported by TestOpenAPIRefsResolve
				}
				p, _ = target.(map[string]any)
			}
			if p["in"] == "path" && p["required"] == true {
				name, _ := p["name"].(string)
				out[name] = true
			}
		}
		return out
	}
	for path, v := range paths {
		item, _ := v.(map[string]any)
		common := declared(item["parameters"])
		for _, m := range httpMethods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			own := declared(op["parameters"])
			for _, sm := range pathParam.FindAllStringSubmatch(path, -1) {
				if !common[sm[1]] && !own[sm[1]] {
					t.Errorf("%s %s: path parameter %q is not declared", strings.ToUpper(m), path, sm[1])
				}
			}
		}
	}
}

// resolvePointer follows a local JSON reference ("#/a/b") in doc. It
// returns a problem description when the reference does not resolve.
func resolvePointer(doc any, ref string) (any, string) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, "is not a local reference"
	}
	cur := doc
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, "goes through a non-object at " + tok
		}
		if cur, ok = m[tok]; !ok {
			return nil, "has no target " + tok
		}
	}
	return cur, ""
}

// TestOpenAPIRefsResolve checks every $ref points at an existing component.
func TestOpenAPIRefsResolve(t *testing.T) {
	doc := loadOpenAPI(t)
	var refs int
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				refs++
				if !strings.HasPrefix(ref, "#/components/") {
					t.Errorf("%s: $ref %q does not point into components", at, ref)
				} else if _, problem := resolvePointer(doc, ref); problem != "" {
					t.Errorf("%s: $ref %q %s", at, ref, problem)
				}
			}
			for k, child := range v {
				walk(child, at+"/"+k)
			}
		case []any:
			for _, child := range v {
				walk(child, at+"/[]")
			}
		}
	}
	walk(doc, "#")
	if refs == 0 {
		t.Error("openapi.json has no $ref at all; the components are not used")
	}
}

// TestOpenAPIOperationIDsUnique checks operation ids are present and unique.
func TestOpenAPIOperationIDsUnique(t *testing.T) {
	paths := openAPIPaths(t, loadOpenAPI(t))
	seen := map[string]string{}
	for p, v := range paths {
		item, _ := v.(map[string]any)
		for _, m := range httpMethods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			where := strings.ToUpper(m) + " " + p
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", where)
				continue
			}
			if prev, dup := seen[id]; dup {
				t.Errorf("operationId %q is used by %s and %s", id, prev, where)
			}
			seen[id] = where
		}
	}
}
