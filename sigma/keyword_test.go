package sigma

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// FuzzKeywordPrefilter holds the keyword search's shortcut to the walk
// it skips: when mayContain says a record's text cannot hold a keyword,
// no string or number of the record matches it.
func FuzzKeywordPrefilter(f *testing.F) {
	for _, s := range [][2]string{
		{`{"operationName":{"value":"Microsoft.Compute/snapshots/write"}}`, "Microsoft.Compute/snapshots/write"},
		{`{"a":"x\/y"}`, "x/y"},
		{`{"a":"\u212a"}`, "k"},
		{"{\"a\":\"\u212a\"}", "k"},
		{`{"n":12.50}`, "12.5"},
		{`{"a":["B*C",{"d":"e?f"}]}`, `b\*c`},
		{`{"a":"abc"}`, "a*c"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, raw, keyword string) {
		var p fastjson.Parser
		v, err := p.Parse(raw)
		if err != nil {
			return
		}
		kw := newPattern(parseWildcards(keyword), false, keyword)
		d := &doc{root: v}
		d.setRaw([]byte(raw))
		if !d.mayContain(kw) && walkStrings(v, kw.match) {
			t.Fatalf("record %s: keyword %q matches, but the prefilter ruled it out", raw, keyword)
		}
	})
}

// TestRequiredLiterals: the literals a match must contain, from the
// top-level concatenation only, and none that case-folds.
func TestRequiredLiterals(t *testing.T) {
	for expr, want := range map[string][]string{
		`.+:assumed-role/aws:.+`:  {":assumed-role/aws:"},
		`^arn:aws:iam::\d+:root$`: {"arn:aws:iam::", ":root"},
		`(?i)assumed-role`:        nil,
		`a|b`:                     nil,
		`(foo)bar`:                {"foo", "bar"},
		`x*`:                      nil,
		`[`:                       nil,
	} {
		if got := requiredLiterals(expr); !slices.Equal(got, want) {
			t.Errorf("requiredLiterals(%q) = %q, want %q", expr, got, want)
		}
	}
}

// FuzzRequiredLiterals: a string an expression matches contains every
// literal requiredLiterals says it must.
func FuzzRequiredLiterals(f *testing.F) {
	f.Add(`.+:assumed-role/aws:.+`, "arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1")
	f.Add(`^a(b)c$`, "abc")
	f.Add(`(?s)x.y`, "x\ny")
	f.Add(`(?i)ab`, "AB")
	f.Fuzz(func(t *testing.T, expr, s string) {
		re, err := regexp.Compile(expr)
		if err != nil || !re.MatchString(s) {
			return
		}
		for _, lit := range requiredLiterals(re.String()) {
			if !strings.Contains(s, lit) {
				t.Fatalf("%q matches %q, which lacks the required %q", expr, s, lit)
			}
		}
	})
}

// FuzzLowerPlain holds lowerPlain to the byte-by-byte loop it replaces:
// the same answer and, for plain text, the same lower-cased bytes.
func FuzzLowerPlain(f *testing.F) {
	f.Add([]byte("{\"operationName\":\"MICROSOFT.COMPUTE/DISKS/WRITE\",\"a\":\"@[`{\"}"))
	f.Add([]byte("ÀZ\\z"))
	f.Fuzz(func(t *testing.T, src []byte) {
		want, plain := make([]byte, len(src)), true
		for i, c := range src {
			if c >= 0x80 || c == '\\' {
				plain = false
				break
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			want[i] = c
		}
		got := make([]byte, len(src))
		if lowerPlain(got, src) != plain || plain && !bytes.Equal(got, want) {
			t.Fatalf("lowerPlain(%q) = %v %q, want %v %q", src, !plain, got, plain, want)
		}
	})
}

// FuzzPatternFolds holds a case-insensitive pattern's match to lower-
// casing the value and comparing: the ASCII values it compares in place.
func FuzzPatternFolds(f *testing.F) {
	f.Add("CreateSnapshot", "createsnapshot")
	f.Add("Microsoft.Compute/*", "MICROSOFT.COMPUTE/DISKS/WRITE")
	f.Add("*/write", "Microsoft.Compute/disks/WRITE")
	f.Add("\u212a*", "K")
	f.Fuzz(func(t *testing.T, text, s string) {
		p := newPattern(parseWildcards(text), false, text)
		low := lower(s)
		var want bool
		switch p.kind {
		case 1:
			want = low == p.exact
		case 2:
			want = strings.HasPrefix(low, p.prefix)
		case 3:
			want = strings.HasSuffix(low, p.suffix)
		case 4:
			want = strings.Contains(low, p.contains)
		default:
			want = globMatch(p.toks, low)
		}
		if got := p.match(s); got != want {
			t.Fatalf("pattern %q on %q: %v, want %v", text, s, got, want)
		}
	})
}

// TestContainsRare checks containsRare against bytes.Contains on random
// texts and literals over a small alphabet, so that matches overlap, sit
// at either end and repeat.
func TestContainsRare(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab/mq"[rng.IntN(5)]
		}
		return string(b)
	}
	for range 20000 {
		text, lit := word(rng.IntN(40)), word(1+rng.IntN(6))
		if rng.IntN(3) == 0 && len(text) > 0 {
			// A literal the text holds.
			i := rng.IntN(len(text))
			lit = text[i:min(len(text), i+1+rng.IntN(6))]
		}
		if got, want := containsRare([]byte(text), lit), strings.Contains(text, lit); got != want {
			t.Fatalf("containsRare(%q, %q) = %v, want %v", text, lit, got, want)
		}
	}
}
