package ingest_test

import (
	"path/filepath"
	"testing"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/ingest"
)

// The Azure SDKs' serialised Activity Log events (the Python SDK's
// EventData.as_dict(), snake_case) are recognised and decoded like the
// REST shape (issue 18): time, operation, phase, caller, address and the
// keys in their bodies.
func TestAzureSDKRecords(t *testing.T) {
	evs, diags, _, _ := readAll(t, ingest.Options{}, filepath.Join(formatsDir, "azure", "sdk-as-dict.json"))
	if len(diags) != 0 || len(evs) != 7 {
		t.Fatalf("%d events, diagnostics %v", len(evs), diags)
	}
	for i, ev := range evs {
		if ev.Format != event.FormatAzureSDK || ev.Provider != event.Azure || ev.Time.IsZero() || ev.Operation == "" ||
			ev.Caller != "trent@fabrikam.example" || ev.SrcIP != "203.0.113.77" || ev.Account != "7c6d5e4f-1a2b-4c3d-8e9f-0a1b2c3d4e5f" {
			t.Errorf("event %d: %+v", i, ev)
		}
	}
	start := evs[2]
	if start.Operation != "microsoft.compute/disks/write" || start.Phase != event.PhaseStart || start.Keys.CreateOption != "Copy" ||
		start.Keys.SourceResource == "" || start.Time.Format("15:04:05") != "08:03:10" {
		t.Errorf("disk write Start: %+v", start)
	}
	if vm := evs[5]; vm.Keys.OSDisk == "" || vm.Keys.VM == "" {
		t.Errorf("VM write keys %+v", vm.Keys)
	}
}
