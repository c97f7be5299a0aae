// Package apiparity reads the exported API that a package's source files
// declare for one platform, so that a test can check that every platform
// declares what Linux does: a program written for Linux then compiles on
// the others. It reads source, so the check runs on any one platform for
// all of them.
package apiparity

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// API is a package's exported declarations for one platform, keyed by
// "func F", "method T.M", "type T", "field T.F", "const C" or "var V". A
// function or method maps to its signature without parameter names, a
// struct field to its type, anything else to "".
type API map[string]string

// Read returns the API the non-test files in dir declare for goos/goarch,
// built without cgo and without the race detector.
func Read(dir, goos, goarch string) (API, error) {
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = goos, goarch, false
	ctx.BuildTags = nil
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	api := API{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if ok, err := ctx.MatchFile(dir, name); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			addDecl(api, fset, d)
		}
	}
	return api, nil
}

func addDecl(api API, fset *token.FileSet, d ast.Decl) {
	switch d := d.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() {
			return
		}
		if d.Recv == nil {
			api["func "+d.Name.Name] = signature(fset, d.Type)
			return
		}
		recv := d.Recv.List[0].Type
		ptr := ""
		if s, ok := recv.(*ast.StarExpr); ok {
			recv, ptr = s.X, "*"
		}
		if ix, ok := recv.(*ast.IndexExpr); ok {
			recv = ix.X
		}
		id, ok := recv.(*ast.Ident)
		if !ok || !id.IsExported() {
			return
		}
		api["method "+id.Name+"."+d.Name.Name] = ptr + signature(fset, d.Type)
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				if !s.Name.IsExported() {
					continue
				}
				api["type "+s.Name.Name] = ""
				if st, ok := s.Type.(*ast.StructType); ok && !s.Assign.IsValid() {
					for _, fld := range st.Fields.List {
						for _, n := range fld.Names {
							if n.IsExported() {
								api["field "+s.Name.Name+"."+n.Name] = text(fset, fld.Type)
							}
						}
					}
				}
			case *ast.ValueSpec:
				kind := "var "
				if d.Tok == token.CONST {
					kind = "const "
				}
				for _, n := range s.Names {
					if n.IsExported() {
						api[kind+n.Name] = ""
					}
				}
			}
		}
	}
}

// signature prints a function type's parameter and result types, without
// their names.
func signature(fset *token.FileSet, ft *ast.FuncType) string {
	list := func(fl *ast.FieldList) string {
		if fl == nil {
			return ""
		}
		var parts []string
		for _, f := range fl.List {
			n := max(len(f.Names), 1)
			for range n {
				parts = append(parts, text(fset, f.Type))
			}
		}
		return strings.Join(parts, ", ")
	}
	tparams := ""
	if ft.TypeParams != nil {
		tparams = "[" + list(ft.TypeParams) + "]"
	}
	return tparams + "(" + list(ft.Params) + ") (" + list(ft.Results) + ")"
}

func text(fset *token.FileSet, n ast.Node) string {
	var b bytes.Buffer
	printer.Fprint(&b, fset, n)
	return b.String()
}

// Missing lists, in a stable order, what want declares that got does not,
// or declares with another signature or field type.
func Missing(want, got API) []string {
	var out []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			out = append(out, k)
		case w != g:
			out = append(out, fmt.Sprintf("%s: %s here, %s on the other", k, g, w))
		}
	}
	sort.Strings(out)
	return out
}

// Check reads the API dir declares for linux/amd64 and for each of Targets,
// and returns an error that lists, per target, what it lacks.
func Check(dir string) error {
	linux, err := Read(dir, "linux", "amd64")
	if err != nil {
		return err
	}
	if len(linux) == 0 {
		return fmt.Errorf("%s declares nothing exported for linux/amd64", dir)
	}
	var lacks []string
	for _, tg := range Targets {
		other, err := Read(dir, tg[0], tg[1])
		if err != nil {
			return err
		}
		if m := Missing(linux, other); len(m) > 0 {
			lacks = append(lacks, fmt.Sprintf("%s/%s lacks what linux/amd64 declares: %s", tg[0], tg[1], strings.Join(m, "; ")))
		}
	}
	if len(lacks) > 0 {
		return fmt.Errorf("%s", strings.Join(lacks, "\n"))
	}
	return nil
}
