package explain

import (
	"os"
	"testing"
)

// TestMain fixes the time of the response (the playbooks' "revoke every
// session issued before now"), so that bundles made in two runs compare
// equal.
func TestMain(m *testing.M) {
	os.Setenv("REVERTWATCH_NOW", "2030-01-01T00:00:00Z")
	os.Exit(m.Run())
}
