package jsonx

import (
	"encoding/json"
	"testing"

	"github.com/valyala/fastjson"
)

// validTokenCases are texts fastjson parses; want is whether they are JSON.
var validTokenCases = []struct {
	in   string
	want bool
}{
	{`{"a":[1,-0,0.5,1e5,-2.5E-3,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9"]}`, true},
	{"{ \"a\" :\n\t[ 1 , 2 ]\r\n}", true},
	{"{\"a\":\"\xff\xfe\"}", true}, // not UTF-8, but JSON's grammar allows the bytes
	{`{"a":00}`, false},
	{`{"a":01.5}`, false},
	{`{"a":1.}`, false},
	{`{"a":.5}`, false},
	{`{"a":+1}`, false},
	{`{"a":1e}`, false},
	{`{"a":1e5.5}`, false},
	{`{"a":--1}`, false},
	{`{"a":nan}`, false},
	{`{"a":-Inf}`, false},
	{`{"a":"\x"}`, false},
	{`{"a":"\u12"}`, false},
	{"{\"a\":\"\x01\"}", false},
	{"{\"a\":\"\x00\\b\"}", false}, // fastjson.Validate lets this one through
	{"{\"a\\n\x1f\":1}", false},
}

func TestValidTokens(t *testing.T) {
	for _, c := range validTokenCases {
		var p fastjson.Parser
		if _, err := p.Parse(c.in); err != nil {
			t.Fatalf("%q: fastjson refuses it (%v); the case tests nothing", c.in, err)
		}
		if got := ValidTokens([]byte(c.in)); got != c.want || got != json.Valid([]byte(c.in)) {
			t.Errorf("ValidTokens(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestValidTokensEveryPosition puts a byte JSON forbids in a string at every
// position of an eight-byte word, and bytes it allows next to them.
func TestValidTokensEveryPosition(t *testing.T) {
	for _, c := range []byte{0x00, 0x01, 0x1f, 0x20, 0x7f, 0x80, 0xff, '\\'} {
		for pos := range 24 {
			s := []byte(`{"k":"` + "abcdefghijklmnopqrstuvwx" + `"}`)
			s[6+pos] = c
			if got, want := ValidTokens(s), json.Valid(s); got != want {
				t.Errorf("byte 0x%02x at %d: ValidTokens %v, encoding/json %v", c, pos, got, want)
			}
		}
	}
}
