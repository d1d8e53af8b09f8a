package query

import (
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/internal/jsonx"
)

// TestContainsFoldAtAgainstLower checks the needle search against the
// obvious one, on texts where both cases of the letter it scans for recur.
func TestContainsFoldAtAgainstLower(t *testing.T) {
	texts := []string{
		"", "p", "P", "operationName", "OPERATIONNAME", "xxoperationnamexx", "operatioNname",
		`{"eventName":"StopInstances","userIdentity":{"principalId":"AROA:p","type":"AssumedRole"},"Properties":{"p":"P"}}`,
		`{"pPpPpP":"operation","Pname":"opERATIONname"}`,
		strings.Repeat("pP", 50) + "operationname",
		strings.Repeat("Pp", 50) + "operationnam",
	}
	for _, needle := range []string{"operationname", "caller", "resourcegroup", "p", "zq"} {
		pick := rarest(needle)
		for _, s := range texts {
			want := strings.Contains(strings.ToLower(s), needle)
			if got := containsFoldAt(s, needle, pick); got != want {
				t.Errorf("containsFoldAt(%q, %q) = %v, want %v", s, needle, got, want)
			}
		}
	}
}

// FuzzContainsFoldAt compares the needle search with the obvious one.
func FuzzContainsFoldAt(f *testing.F) {
	f.Add("xxOperationNamexx", "operationname")
	f.Add("pPpP", "pp")
	f.Fuzz(func(t *testing.T, s, needle string) {
		needle = strings.ToLower(needle)
		if needle == "" || !jsonx.IsASCII(needle) || !jsonx.IsASCII(s) {
			return
		}
		want := strings.Contains(strings.ToLower(s), needle)
		if got := containsFoldAt(s, needle, rarest(needle)); got != want {
			t.Errorf("containsFoldAt(%q, %q) = %v, want %v", s, needle, got, want)
		}
	})
}
