// Package deptest holds the architecture's dependency rules (STYLE.md,
// "The shape") as tests: the domain is standard library only, the use-case
// packages never reach for HTTP or SQL, the HTTP edge never names a store,
// and the backends know only the domain. It also requires a doc comment on
// every package. It has no non-test code.
package deptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// pkg is the part of `go list -json` output the rules need.
type pkg struct {
	ImportPath string
	Name       string
	Dir        string
	Standard   bool
	Imports    []string
	Deps       []string
	Module     *struct{ Path string }
	Error      *struct{ Err string }
}

// moduleRoot is the directory holding go.mod, found upward from here.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// goList runs `go list -deps -json` over the module's packages and returns
// every package it printed (the module's and all their dependencies) by
// import path, and the module path.
func goList(t *testing.T) (map[string]pkg, string) {
	t.Helper()
	root := moduleRoot(t)
	cmd := exec.Command("go", "list", "-e", "-deps", "-json", "./...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	modCmd := exec.Command("go", "list", "-m", "-f", "{{.Path}}")
	modCmd.Dir = root
	modCmd.Env = cmd.Env
	mod, err := modCmd.Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return pkgs, strings.TrimSpace(string(mod))
}

// matching returns the module's packages at path or below it.
func matching(pkgs map[string]pkg, path string) []pkg {
	var out []pkg
	for ip, p := range pkgs {
		if ip == path || strings.HasPrefix(ip, path+"/") {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ImportPath < out[j].ImportPath })
	return out
}

func TestDependencyRules(t *testing.T) {
	pkgs, mod := goList(t)
	internal := mod + "/internal/"
	for _, want := range []string{"idgate", "account", "token", "tenant", "web", "notify", "store/sqlstore", "config", "secret"} {
		p, ok := pkgs[internal+want]
		if !ok {
			t.Fatalf("go list did not report %s%s: the rules below would pass vacuously", internal, want)
		}
		if p.Error != nil {
			t.Errorf("%s: %s", p.ImportPath, p.Error.Err)
		}
	}

	// The domain imports the standard library only.
	for _, p := range matching(pkgs, internal+"idgate") {
		for _, d := range p.Deps {
			if dp, ok := pkgs[d]; !ok || !dp.Standard {
				t.Errorf("%s depends on %s: the domain must use the standard library only", p.ImportPath, d)
			}
		}
	}

	// The domain and the use-case packages never import net/http (directly)
	// nor reach database/sql or a store (at all).
	for _, name := range []string{"idgate", "account", "token", "tenant"} {
		for _, p := range matching(pkgs, internal+name) {
			if slices.Contains(p.Imports, "net/http") {
				t.Errorf("%s imports net/http: HTTP belongs to internal/web", p.ImportPath)
			}
			for _, d := range p.Deps {
				if d == "database/sql" || strings.HasPrefix(d, internal+"store") {
					t.Errorf("%s depends on %s: storage is reached only through idgate.Store", p.ImportPath, d)
				}
			}
		}
	}

	// The HTTP edge never names a store.
	for _, p := range matching(pkgs, internal+"web") {
		for _, d := range append(slices.Clone(p.Imports), p.Deps...) {
			if strings.HasPrefix(d, internal+"store") || d == "database/sql" {
				t.Errorf("%s depends on %s: web must use idgate.Store, never a backend", p.ImportPath, d)
			}
		}
	}

	// Backends and side effects know only the domain.
	for _, base := range []string{"store", "notify"} {
		for _, p := range matching(pkgs, internal+base) {
			for _, d := range p.Deps {
				if strings.HasPrefix(d, internal) && d != internal+"idgate" && !strings.HasPrefix(d, internal+base+"/") && d != internal+base {
					t.Errorf("%s depends on %s: %s may import only internal/idgate", p.ImportPath, d, base)
				}
			}
		}
	}

	// Only cmd names a concrete backend: nothing under internal/ except
	// the store packages themselves imports internal/store/sqlstore.
	for ip, p := range pkgs {
		if !strings.HasPrefix(ip, internal) || strings.HasPrefix(ip, internal+"store") {
			continue
		}
		if slices.Contains(p.Deps, internal+"store/sqlstore") {
			t.Errorf("%s depends on internal/store/sqlstore: only cmd/ wires a backend", ip)
		}
	}
}

// TestPackageDocs requires a doc comment on every package under internal/
// and cmd/, in the Go form ("Package name ..." or "Command name ...").
func TestPackageDocs(t *testing.T) {
	root := moduleRoot(t)
	checked := 0
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				return nil
			}
			if name := d.Name(); name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			fset := token.NewFileSet()
			entries, err := os.ReadDir(path)
			if err != nil {
				return err
			}
			var files []*ast.File
			for _, e := range entries {
				n := e.Name()
				if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
					continue
				}
				f, err := parser.ParseFile(fset, filepath.Join(path, n), nil, parser.PackageClauseOnly|parser.ParseComments)
				if err != nil {
					t.Errorf("%s: %v", filepath.Join(path, n), err)
					continue
				}
				files = append(files, f)
			}
			if len(files) == 0 {
				return nil // no package here (or tests only)
			}
			checked++
			rel, _ := filepath.Rel(root, path)
			name := files[0].Name.Name
			var docs []string
			for _, f := range files {
				if f.Doc != nil {
					docs = append(docs, f.Doc.Text())
				}
			}
			switch {
			case len(docs) == 0:
				t.Errorf("%s (package %s) has no package doc comment", rel, name)
			case name == "main" && !strings.HasPrefix(docs[0], "Command "):
				t.Errorf("%s: the command's doc comment should start with \"Command <name>\": %q", rel, firstLine(docs[0]))
			case name != "main" && !strings.HasPrefix(docs[0], "Package "+name+" "):
				t.Errorf("%s: the doc comment should start with \"Package %s \": %q", rel, name, firstLine(docs[0]))
			}
			if len(docs) > 1 {
				t.Logf("%s has %d package doc comments; keep one (doc.go)", rel, len(docs))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d packages: the walk is broken", checked)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
