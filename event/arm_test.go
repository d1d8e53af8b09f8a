package event

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// splitSegment is the reading ARMSegment replaced (strings.Split, then
// the part after the first name), kept here as the specification.
func splitSegment(id, name string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], name) {
			return parts[i+1]
		}
	}
	return ""
}

func TestARMSegment(t *testing.T) {
	for _, tc := range []struct{ id, sub, rg string }{
		{"", "", ""},
		{"/", "", ""},
		{"subscriptions", "", ""},
		{"/subscriptions", "", ""},
		{"/subscriptions/", "", ""},
		{"/SUBSCRIPTIONS/S1/resourceGroups/R/x", "S1", "R"},
		{"/subscriptions/s/resourcegroups/rg", "s", "rg"},
		{"subscriptions/S2", "S2", ""},
		{"/a/subscriptions/S3/subscriptions/S4", "S3", ""},
		{"//subscriptions//", "", ""},
		{"/resourcegroups/rg/providers/p/subscriptions", "", "rg"},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d", "s", "rg"},
	} {
		if got := ARMSubscription(tc.id); got != tc.sub {
			t.Errorf("ARMSubscription(%q) = %q, want %q", tc.id, got, tc.sub)
		}
		if got := ARMResourceGroup(tc.id); got != tc.rg {
			t.Errorf("ARMResourceGroup(%q) = %q, want %q", tc.id, got, tc.rg)
		}
		for _, name := range []string{ARMSubscriptions, ARMResourceGroups} {
			if got, want := string(ARMSegment([]byte(tc.id), name)), splitSegment(tc.id, name); got != want {
				t.Errorf("ARMSegment([]byte(%q), %q) = %q, want %q", tc.id, name, got, want)
			}
		}
	}
}

// FuzzARMSegment: the string and byte forms agree on every input, and
// with the strings.Split reading on every id it reads alike (it differs
// only where Unicode case folding would match a name of another length,
// which no ARM id has).
func FuzzARMSegment(f *testing.F) {
	f.Add("/subscriptions/S/resourceGroups/R/providers/x", "resourceGroups")
	f.Add("//SUBSCRIPTIONS//", "subscriptions")
	f.Add("/\u017fubscriptions/s", "subscriptions")
	f.Fuzz(func(t *testing.T, id, name string) {
		s, b := ARMSegment(id, name), ARMSegment([]byte(id), name)
		if s != string(b) {
			t.Fatalf("ARMSegment(%q, %q): string %q, bytes %q", id, name, s, b)
		}
		ascii := true
		for _, x := range [...]string{id, name} {
			for i := 0; i < len(x); i++ {
				ascii = ascii && x[i] < utf8.RuneSelf
			}
		}
		if ascii {
			if want := splitSegment(id, name); s != want {
				t.Fatalf("ARMSegment(%q, %q) = %q, want %q", id, name, s, want)
			}
		}
	})
}

// AppendLower spells an id as strings.ToLower does, ASCII or not.
func TestAppendLower(t *testing.T) {
	for _, id := range []string{
		"", "/SUBSCRIPTIONS/0B1C2D3E-4F50/resourceGroups/RG/providers/Microsoft.Compute/disks/Disk-1",
		"already/lower", "Ünïcode/DISK", "\u212Aelvin", "a\xffb",
	} {
		if got, want := string(AppendLower([]byte("x"), id)), "x"+strings.ToLower(id); got != want {
			t.Errorf("AppendLower(%q) = %q, want %q", id, got, want)
		}
	}
}

// SameARMID says what comparing the lower-cased ids says.
func TestSameARMID(t *testing.T) {
	for _, tc := range [][2]string{
		{"", ""}, {"a", "A"}, {"/SUBSCRIPTIONS/S/disks/D", "/subscriptions/s/disks/d"}, {"a", "b"}, {"ab", "a"},
		{"\u212a", "k"}, {"x\u212a", "xk"}, {"\u0130", "i\u0307"}, {"\u017f", "s"}, {"é", "É"}, {"[", "{"},
	} {
		if got, want := SameARMID(tc[0], tc[1]), lowerEqual(tc[0], tc[1]); got != want {
			t.Errorf("SameARMID(%q, %q) = %v, want %v", tc[0], tc[1], got, want)
		}
	}
}

// FuzzSameARMID: SameARMID is the comparison of the lower-cased ids.
func FuzzSameARMID(f *testing.F) {
	f.Add("/SUBSCRIPTIONS/S/disks/D", "/subscriptions/s/disks/d")
	f.Add("\u212a", "k")
	f.Add("@", "`")
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := SameARMID(a, b), lowerEqual(a, b); got != want {
			t.Fatalf("SameARMID(%q, %q) = %v, want %v", a, b, got, want)
		}
	})
}
