package source_test

import (
	"testing"

	"github.com/revertwatch/revertwatch/source"
)

func TestParseBlobURL(t *testing.T) {
	cases := []struct {
		in   string
		want source.BlobURL
	}{
		{"azblob://acct/insights-activity-logs/", source.BlobURL{Account: "acct", Container: "insights-activity-logs"}},
		{"azblob://acct/c/resourceId=/SUBSCRIPTIONS/S/", source.BlobURL{Account: "acct", Container: "c", Prefix: "resourceId=/SUBSCRIPTIONS/S/"}},
		{"https://acct.blob.core.windows.net/c/p/q?sv=1&sig=x", source.BlobURL{Account: "acct", Container: "c", Prefix: "p/q", SAS: "sv=1&sig=x"}},
	}
	for _, c := range cases {
		got, err := source.ParseBlobURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseBlobURL(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if !source.IsBlobURL(c.in) || !source.IsRemote(c.in) {
			t.Errorf("%q is not recognised as a Blob URL", c.in)
		}
	}
	for _, bad := range []string{"azblob://", "azblob://acct", "azblob:///c", "https://example.com/c/p", "http://acct.blob.core.windows.net/c"} {
		if _, err := source.ParseBlobURL(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzParseBlobURL: any argument parses or errs without panicking; a
// parsed URL names an account and a container.
func FuzzParseBlobURL(f *testing.F) {
	f.Add("azblob://a/c/p")
	f.Add("https://a.blob.core.windows.net/c/p?sig=x")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := source.ParseBlobURL(s)
		if err == nil && (u.Account == "" || u.Container == "") {
			t.Fatalf("%q: %+v", s, u)
		}
	})
}
