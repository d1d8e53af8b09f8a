package ingest

import (
	"bytes"
	"strings"
	"testing"
)

// TestQuoteOrBackslash checks the scanner's string-end search against
// bytes.IndexAny at every length and position around its 32-byte fast
// path.
func TestQuoteOrBackslash(t *testing.T) {
	for n := 0; n <= 80; n++ {
		for at := -1; at < n; at++ {
			for _, c := range []byte{'"', '\\'} {
				b := []byte(strings.Repeat("a\x80\xff!", 21)[:n])
				if at >= 0 {
					b[at] = c
					if at+1 < n {
						b[at+1] = '"' ^ '\\' ^ c // the other one right after
					}
				}
				if got, want := quoteOrBackslash(b), bytes.IndexAny(b, `"\`); got != want {
					t.Fatalf("quoteOrBackslash(%q) = %d, want %d", b, got, want)
				}
			}
		}
	}
}

func FuzzQuoteOrBackslash(f *testing.F) {
	f.Add([]byte(`abc"def\`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := quoteOrBackslash(b), bytes.IndexAny(b, `"\`); got != want {
			t.Fatalf("quoteOrBackslash(%q) = %d, want %d", b, got, want)
		}
	})
}

func TestLiteSlot(t *testing.T) {
	for i, k := range liteKeys {
		if j, ok := liteSlot(k); !ok || j != i {
			t.Errorf("liteSlot(%q) = %d %v, want %d", k, j, ok, i)
		}
	}
	if _, ok := liteSlot("eventname"); ok {
		t.Error("liteSlot matches in another letter case")
	}
}

func TestEqualFold(t *testing.T) {
	for _, c := range [][2]string{{"caller", "Caller"}, {"caller", "callers"}, {"CALLER", "caller"}, {"a@", "A`"}, {"[", "{"},
		{"é", "É"}, {"K", "\u212a"}, {"", ""}, {"x", "y"}, {"résumé", "RÉSUMÉ"}} {
		if got, want := equalFold([]byte(c[0]), c[1]), strings.EqualFold(c[0], c[1]); got != want {
			t.Errorf("equalFold(%q, %q) = %v, want %v", c[0], c[1], got, want)
		}
	}
}

// FuzzEqualFold holds equalFold to strings.EqualFold.
func FuzzEqualFold(f *testing.F) {
	f.Add("caller", "CALLER")
	f.Add("kid", "\u212aid")
	f.Add("ſ", "S")
	f.Add("abc", "abcd")
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := equalFold([]byte(a), b), strings.EqualFold(a, b); got != want {
			t.Fatalf("equalFold(%q, %q) = %v, want %v", a, b, got, want)
		}
	})
}
