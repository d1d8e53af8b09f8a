package level

import "testing"

// TestScale pins the scale's words and both mappings out: every export
// (findings, the tuning file, Sigma, OCSF) reads them from here.
func TestScale(t *testing.T) {
	for _, tc := range []struct {
		l          Level
		word       string
		sigma      string
		ocsfSev    int
		ocsfConf   int
		confidence Level
	}{
		{Unknown, "unknown", "", 0, 0, Unknown},
		{Info, "informational", "informational", 1, 0, Low},
		{Low, "low", "low", 2, 1, Low},
		{Medium, "medium", "medium", 3, 2, Medium},
		{High, "high", "high", 4, 3, High},
		{Critical, "critical", "critical", 5, 0, High},
	} {
		if got := tc.l.String(); got != tc.word {
			t.Errorf("%d: String() = %q, want %q", tc.l, got, tc.word)
		}
		if got := tc.l.Sigma(); got != tc.sigma {
			t.Errorf("%s: Sigma() = %q, want %q", tc.word, got, tc.sigma)
		}
		if got := tc.l.OCSFSeverityID(); got != tc.ocsfSev {
			t.Errorf("%s: OCSFSeverityID() = %d, want %d", tc.word, got, tc.ocsfSev)
		}
		if got := tc.l.OCSFConfidenceID(); got != tc.ocsfConf {
			t.Errorf("%s: OCSFConfidenceID() = %d, want %d", tc.word, got, tc.ocsfConf)
		}
		if got := tc.l.Confidence(); got != tc.confidence {
			t.Errorf("%s: Confidence() = %s, want %s", tc.word, got, tc.confidence)
		}
		if tc.l == Unknown {
			continue
		}
		if got, ok := Parse(tc.word); !ok || got != tc.l {
			t.Errorf("Parse(%q) = %s, %v", tc.word, got, ok)
		}
		if got, ok := ParseSigma(tc.sigma); !ok || got != tc.l {
			t.Errorf("ParseSigma(%q) = %s, %v", tc.sigma, got, ok)
		}
	}
	for _, w := range []string{"", "unknown", "info", "High", "fatal"} {
		if l, ok := Parse(w); ok || l != Unknown {
			t.Errorf("Parse(%q) = %s, %v; want unknown", w, l, ok)
		}
	}
}

func TestFromSigma(t *testing.T) {
	for in, want := range map[string]Level{
		"informational": Info, "LOW": Low, "medium": Medium, "High": High, "critical": Critical,
		"": Medium, "info": Medium, "severe": Medium,
	} {
		if got := FromSigma(in); got != want {
			t.Errorf("FromSigma(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestParseInput(t *testing.T) {
	for in, want := range map[string]Level{"info": Info, "INFO": Info, "Informational": Info, "low": Low, "Medium": Medium} {
		if got, ok := ParseInput(in); !ok || got != want {
			t.Errorf("ParseInput(%q) = %s, %v; want %s", in, got, ok, want)
		}
	}
	if _, ok := ParseInput("lowest"); ok {
		t.Error(`ParseInput("lowest") accepted`)
	}
}

func TestShift(t *testing.T) {
	if Low.Shift(-3) != Info || High.Shift(+3) != Critical || Medium.Shift(+1) != High {
		t.Error("Shift does not stay within informational..critical")
	}
}
