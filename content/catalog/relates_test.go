package catalog

import (
	"testing"

	"github.com/revertwatch/revertwatch/event"
)

// TestRelatesListed checks that every AWS and Google Cloud operation
// explain follows for lineage is one the catalog lists: a name spelled
// wrong there would silently lose a link.
func TestRelatesListed(t *testing.T) {
	for _, op := range awsRelates {
		if _, listed := Lookup(event.AWS, op); !listed {
			t.Errorf("AWS %s relates resources but is not in the catalog", op)
		}
		if !Relates(event.AWS, op) {
			t.Errorf("Relates(AWS, %s) = false", op)
		}
	}
	for _, op := range gcpRelates {
		if _, listed := Lookup(event.GCP, op); !listed {
			t.Errorf("GCP %s relates resources but is not in the catalog", op)
		}
	}
	if Relates(event.AWS, "StopInstances") || !Relates(event.Azure, "microsoft.compute/disks/write") ||
		!Relates(event.Azure, "microsoft.recoveryservices/vaults/backupfabrics/protectioncontainers/protecteditems/recoverypoints/restore/action") {
		t.Error("Relates does not follow its lists")
	}
}
