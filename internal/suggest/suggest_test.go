package suggest

import "testing"

func TestClosest(t *testing.T) {
	for _, c := range []struct{ word, want string }{
		{"matchs", "matches"}, {"COUNT", "count"}, {"principle", "principal"}, {"xyzzy", ""}, {"", ""},
	} {
		if got := Closest(c.word, []string{"count", "matches", "principal", "region"}); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.word, got, c.want)
		}
	}
	if Distance("kitten", "sitting") != 3 || Distance("a", "a") != 0 || Distance(string(make([]byte, 65)), "") != 99 {
		t.Error("Distance")
	}
}
