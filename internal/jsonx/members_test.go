package jsonx

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/valyala/fastjson"
)

var membersCases = []struct {
	in   string
	want bool
}{
	{`{}`, true},
	{`{ }`, true},
	{`{"a":1}`, true},
	{`{"a":[],"b":{},"c":[{}],"d":{"e":[1,2,{"f":null}]}}`, true},
	{"{ \"a\" :\n\t[ 1 , 2 ]\r\n, \"b\" : \"x\\\"y\" }", true},
	{`{"a":[1,-0,0.5,1e5,-2.5E-3,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9"]}`, true},
	{`{"a":{"b":{"c":{"d":[[[[]]]]}}}}`, true},
	{` {"a":1}`, false},
	{`{"a":1} `, false},
	{`{"a":1}{}`, false},
	{`[1]`, false},
	{`{"a\n":1}`, false}, // an escaped name: not resolved here
	{`{"a":1,}`, false},
	{`{"a":[1,]}`, false},
	{`{"a":{"b":1,}}`, false},
	{`{"a":{"b"}}`, false},
	{`{"a":{"b":}}`, false},
	{`{"a":[}`, false},
	{`{"a":{]}`, false},
	{`{"a":[1 2]}`, false},
	{`{"a" 1}`, false},
	{`{a:1}`, false},
	{`{"a":01}`, false},
	{`{"a":.5}`, false},
	{`{"a":tru}`, false},
	{`{"a":nul}`, false},
	{`{"a":"\x"}`, false},
	{"{\"a\":\"\x01\"}", false},
	{`{"a":"`, false},
	{`{"a":[[[`, false},
	{`{"a":1`, false},
}

func TestMembers(t *testing.T) {
	for _, c := range membersCases {
		got, ok := Members([]byte(c.in), nil)
		if ok != c.want {
			t.Errorf("Members(%q) ok = %v, want %v", c.in, ok, c.want)
			continue
		}
		if ok {
			checkMembers(t, []byte(c.in), got)
			checkLookup(t, []byte(c.in), got)
		}
	}
	deep := bytes.Repeat([]byte("["), maxDepth+1)
	deep = append(append([]byte(`{"a":`), deep...), append(bytes.Repeat([]byte("]"), maxDepth+1), '}')...)
	if _, ok := Members(deep, nil); ok {
		t.Errorf("nesting deeper than %d accepted", maxDepth)
	}
}

// checkMembers checks what Members accepted against fastjson and
// ValidTokens: the same members, the same values.
func checkMembers(t *testing.T, b []byte, got []Member) {
	t.Helper()
	var p fastjson.Parser
	v, err := p.ParseBytes(b)
	if err != nil || !ValidTokens(b) {
		t.Fatalf("Members accepted %q, which the strict parser refuses (%v)", b, err)
	}
	o, err := v.Object()
	if err != nil {
		t.Fatalf("Members accepted %q, not an object", b)
	}
	if o.Len() != len(got) {
		t.Fatalf("%q: %d members, fastjson has %d", b, len(got), o.Len())
	}
	i := 0
	o.Visit(func(k []byte, mv *fastjson.Value) {
		m := got[i]
		i++
		if string(k) != string(m.Key) {
			t.Errorf("%q: member %d is %q, fastjson says %q", b, i, m.Key, k)
		}
		switch mv.Type() {
		case fastjson.TypeString:
			if m.Kind != '"' || !m.Esc && string(m.Val) != string(mv.GetStringBytes()) {
				t.Errorf("%q: member %q = %q (%c), fastjson says %q", b, k, m.Val, m.Kind, mv.GetStringBytes())
			}
		default:
			if m.Kind == '"' || string(m.Val) != string(mv.MarshalTo(nil)) && mv.Type() != fastjson.TypeObject && mv.Type() != fastjson.TypeArray {
				t.Errorf("%q: member %q = %q (%c), fastjson says %s", b, k, m.Val, m.Kind, mv.MarshalTo(nil))
			}
		}
	})
}

// FuzzMembers checks that whatever Members accepts, the strict parser
// (fastjson and ValidTokens) accepts too, with the same members.
func FuzzMembers(f *testing.F) {
	for _, c := range membersCases {
		f.Add([]byte(c.in))
	}
	for _, c := range validTokenCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := Members(b, nil)
		if ok {
			checkMembers(t, b, got)
			checkLookup(t, b, got)
		}
	})
}

// checkLookup checks that Lookup finds, in an object Members accepted,
// the first member of each name exactly, and none of a name not there.
func checkLookup(t *testing.T, b []byte, ms []Member) {
	t.Helper()
	for _, m := range ms {
		first := m
		for _, o := range ms {
			if string(o.Key) == string(m.Key) {
				first = o
				break
			}
		}
		got, ok := Lookup(b, string(m.Key))
		if !ok || !reflect.DeepEqual(got, first) {
			t.Errorf("Lookup(%q, %q) = %+v, %v; want %+v", b, m.Key, got, ok, first)
		}
	}
	if m, ok := Lookup(b, "\x00absent"); ok {
		t.Errorf("Lookup(%q) found %+v", b, m)
	}
}

func BenchmarkMembers(b *testing.B) {
	rec := []byte(`{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:i-0abc","arn":"arn:aws:sts::111122223333:assumed-role/r/i-0abc","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/r"},"attributes":{"creationDate":"2026-11-02T07:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-02T08:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.1","userAgent":"aws-sdk-go-v2/1.30","requestParameters":{"instancesSet":{},"filterSet":{"items":[{"name":"tag:Name","valueSet":{"items":[{"value":"web"}]}}]}},"responseElements":null,"requestID":"0f6d0b3c-8e1b-4c0a-9a2d-3a4b5c6d7e8f","eventID":"7a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`)
	b.SetBytes(int64(len(rec)))
	var ms []Member
	for b.Loop() {
		var ok bool
		if ms, ok = Members(rec, ms[:0]); !ok {
			b.Fatal("refused")
		}
	}
}

func BenchmarkValidTokensRecord(b *testing.B) {
	rec := []byte(`{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:i-0abc","arn":"arn:aws:sts::111122223333:assumed-role/r/i-0abc","accountId":"111122223333"},"eventTime":"2026-11-02T08:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","requestParameters":{"filterSet":{"items":[{"name":"tag:Name"}]}},"recipientAccountId":"111122223333"}`)
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		ValidTokens(rec)
	}
}

// TestMembersPrefix checks that an object followed by anything is found
// whole, and one cut short is refused.
func TestMembersPrefix(t *testing.T) {
	for _, c := range membersCases {
		if !c.want {
			continue
		}
		for _, tail := range []string{"", ",", "]}", " {\"x\":", "\n{}"} {
			end, _, ok := MembersPrefix([]byte(c.in+tail), nil)
			if !ok || end != len(c.in) {
				t.Errorf("MembersPrefix(%q) = %d %v, want %d", c.in+tail, end, ok, len(c.in))
			}
		}
		if _, _, ok := MembersPrefix([]byte(c.in[:len(c.in)-1]), nil); ok {
			t.Errorf("MembersPrefix(%q) accepted a cut object", c.in[:len(c.in)-1])
		}
	}
}

// TestFoldEqual holds foldEqual to bytes.EqualFold, on names that fold
// together through runes that are not ASCII (the Kelvin sign and k, the
// long s and s) and names of every pair of a small alphabet.
func TestFoldEqual(t *testing.T) {
	names := []string{"", "k", "K", "\u212a", "key", "KEY", "\u212aey", "s", "\u017f", "service", "\u017fervice", "Service", "a", "b", "ab", "[", "{", "é", "É", "1"}
	for _, a := range names {
		for _, b := range names {
			if got, want := foldEqual([]byte(a), b), bytes.EqualFold([]byte(a), []byte(b)); got != want {
				t.Errorf("foldEqual(%q, %q) = %v, want %v", a, b, got, want)
			}
		}
	}
}
