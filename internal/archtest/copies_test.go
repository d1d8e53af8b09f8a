package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A piece of knowledge lives in one place (issue 14, "one vocabulary").
// Each check below names where it lives and a sign, in the source, of a
// second copy of it: a string literal only the owner has reason to write.
type copyCheck struct {
	what  string
	owner []string // files (or directories, ending in /) allowed to hold it
	// literal reports whether a string literal is a sign of a copy; built
	// is true when the literal is an operand of + (text being built, not
	// read).
	literal func(s string, built bool) bool
	// except lists files that still hold a copy, each with why.
	except map[string]string
}

// attackID matches a literal that is an ATT&CK tactic or technique id, or
// a Sigma tag of one (TA0005, T1578.004, attack.defense-evasion).
var attackID = regexp.MustCompile(`(?i)^(TA\d{4}|T\d{4}(\.\d{3})?|attack\.[a-z0-9][a-z0-9.-]*)$`)

var copyChecks = []copyCheck{
	{
		what:  "reading ARM ids (subscription, resource group): event.ARMSegment",
		owner: []string{"event/arm.go"},
		literal: func(s string, built bool) bool {
			n := strings.ToLower(strings.Trim(s, "/"))
			return !built && (n == "subscriptions" || n == "resourcegroups")
		},
	},
	{
		what:  "ATT&CK ids, tags and pages: package attack",
		owner: []string{"attack/"},
		literal: func(s string, _ bool) bool {
			return attackID.MatchString(s) || strings.Contains(s, "attack.mitre.org")
		},
	},
	{
		what:  "the severity and confidence words (and Sigma's levels, the same words): package level",
		owner: []string{"level/"},
		literal: func(s string, _ bool) bool {
			switch s {
			case "informational", "info", "low", "medium", "high", "critical":
				return true
			}
			return false
		},
		except: map[string]string{
			"emulate/scale.go": "--cardinality high names how many callers and resources the background has, not a level",
		},
	},
}

// TestOneCopy fails when a second copy of a unified piece of knowledge
// appears in non-test source outside its owner.
func TestOneCopy(t *testing.T) {
	root := "../.."
	for _, c := range copyChecks {
		walkSource(t, root, func(rel string, f *ast.File) {
			if owns(c.owner, rel) || c.except[rel] != "" {
				return
			}
			built := map[*ast.BasicLit]bool{}
			ast.Inspect(f, func(n ast.Node) bool {
				if b, ok := n.(*ast.BinaryExpr); ok && b.Op == token.ADD {
					for _, x := range []ast.Expr{b.X, b.Y} {
						if l, ok := x.(*ast.BasicLit); ok {
							built[l] = true
						}
					}
				}
				l, ok := n.(*ast.BasicLit)
				if !ok || l.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(l.Value)
				if err == nil && c.literal(s, built[l]) {
					t.Errorf("%s:%d: a second copy of %s (literal %s)", rel, fset.Position(l.Pos()).Line, c.what, l.Value)
				}
				return true
			})
		})
	}
}

func owns(owner []string, rel string) bool {
	for _, o := range owner {
		if rel == o || strings.HasSuffix(o, "/") && strings.HasPrefix(rel, o) {
			return true
		}
	}
	return false
}

var fset = token.NewFileSet()

// walkSource parses every non-test Go file of the module under root.
func walkSource(t *testing.T, root string, visit func(rel string, f *ast.File)) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		visit(filepath.ToSlash(rel), f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
