package explain

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/finding"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// timelineOps lists the operations of a bundle's timeline, with the step
// name or the tags after a colon.
func timelineOps(b *Bundle) []string {
	var out []string
	for _, g := range b.Timeline {
		for _, e := range g.Entries {
			s := g.Phase + " " + e.Operation
			if e.Step != "" {
				s += " step=" + e.Step
			} else if len(e.Tags) > 0 {
				s += " " + strings.Join(e.Tags, ",")
			}
			out = append(out, s)
		}
	}
	return out
}

func TestBundleSnapshotVolumeChain(t *testing.T) {
	h := huntEmulated(t, 150, "aws-chain-snapshot-volume-attach")
	f := h.find(t, content.RuleSnapshotVolumeAttach)
	b := h.index.Explain(f, Options{})

	want := []string{
		"revert CreateSnapshot step=snapshot",
		"revert StopInstances step=context:stop",
		"revert DetachVolume related",
		"revert CreateVolume step=create",
		"revert AttachVolume step=attach",
		"after StartInstances related",
		"after DeleteVolume deletion,related",
	}
	if got := timelineOps(b); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range b.Steps {
		if !s.ByActor {
			t.Errorf("step %s not attributed to the actor", s.Step)
		}
	}

	// The snapshot came from the old root volume, by the actor, before the
	// attack's restore; the restored volume came from the snapshot.
	var snap, restored *Lineage
	for i := range b.Lineage {
		l := &b.Lineage[i]
		switch {
		case strings.HasPrefix(l.Resource, "snap-"):
			snap = l
		case strings.HasPrefix(l.Resource, "vol-") && l.Origin != nil:
			restored = l
		}
	}
	if snap == nil || snap.Origin == nil || snap.Origin.Operation != "CreateSnapshot" || !snap.Origin.ByActor || len(snap.MadeFrom) != 1 {
		t.Fatalf("snapshot lineage: %+v", snap)
	}
	oldRoot := snap.MadeFrom[0]
	if restored == nil || restored.Origin.Operation != "CreateVolume" || restored.MadeFrom[0] != snap.Resource {
		t.Fatalf("restored volume lineage: %+v", restored)
	}
	if restored.BeforeAttack >= 0 || !strings.Contains(restored.BeforeText, "after the first step") {
		t.Errorf("restored volume made %v before the attack (%q), want after the first step", restored.BeforeAttack, restored.BeforeText)
	}

	// The old root was detached at /dev/xvda and deleted afterwards.
	if len(b.Replaced) != 1 || b.Replaced[0].Resource != oldRoot {
		t.Fatalf("replaced: %+v, want %s", b.Replaced, oldRoot)
	}
	r := b.Replaced[0]
	if !strings.Contains(r.How, "/dev/xvda") || len(r.Deleted) != 1 || r.Deleted[0].Operation != "DeleteVolume" || !strings.Contains(r.Fate, "evidence destroyed") {
		t.Errorf("replaced volume: %+v", r)
	}
	if len(b.Deletions) != 1 || b.Deletions[0].Resource != oldRoot || !b.Deletions[0].ByActor {
		t.Errorf("deletions: %+v", b.Deletions)
	}
	if b.Playbook.RuleID != f.RuleID || len(b.Playbook.Containment) == 0 || len(b.Playbook.Evidence) == 0 {
		t.Fatalf("playbook: %+v", b.Playbook)
	}
	// The playbook's commands carry the finding's ids.
	text := playbookText(b.Playbook)
	for _, want := range []string{"--volume-id " + oldRoot, "--volume-id " + restored.Resource + ` --description "IR ` + f.ID + `: restored`,
		"--snapshot-ids " + snap.Resource, "--region us-east-1", "--user-name svc-deploy"} {
		if !strings.Contains(text, want) {
			t.Errorf("playbook lacks %q", want)
		}
	}
}

func playbookText(p content.Playbook) string {
	var sb strings.Builder
	for _, sec := range playbookSections(p) {
		for _, a := range sec.Actions {
			sb.WriteString(a.Text + "\n" + a.Command + "\n")
		}
	}
	return sb.String()
}

func TestBundleAzureRestorePoint(t *testing.T) {
	h := huntEmulated(t, 150, "azure-restore-point-disk-swap")
	f := h.find(t, content.RuleAzureDiskSwap)
	b := h.index.Explain(f, Options{})
	var point *Lineage
	for i := range b.Lineage {
		if strings.HasSuffix(strings.ToLower(b.Lineage[i].Resource), "/restorepoints/rp-before-patch") {
			point = &b.Lineage[i]
		}
	}
	if point == nil || point.Origin == nil {
		t.Fatalf("no lineage of the restore point: %+v", b.Lineage)
	}
	if point.BeforeAttack < 50*time.Minute || !strings.Contains(point.BeforeText, "before the first step") {
		t.Errorf("restore point taken %v before the attack (%q), want about 52m", point.BeforeAttack, point.BeforeText)
	}
	if len(b.Replaced) != 1 || !strings.HasSuffix(b.Replaced[0].Resource, "/disks/app-02_OsDisk_1") {
		t.Fatalf("replaced: %+v, want the VM's previous OS disk", b.Replaced)
	}
	if !strings.Contains(b.Replaced[0].Fate, "may still exist") {
		t.Errorf("fate of an undeleted disk: %q", b.Replaced[0].Fate)
	}
	text := playbookText(b.Playbook)
	if !strings.Contains(strings.ToLower(text), "--resource-group app-rg") || !strings.Contains(text, "disks/app-02_OsDisk_1") {
		t.Errorf("playbook not filled with the resource group and the replaced disk:\n%s", text)
	}
	phases := map[string]bool{}
	for _, g := range b.Timeline {
		phases[g.Phase] = true
	}
	if !phases[PhaseBefore] || !phases[PhaseRevert] || !phases[PhaseAfter] {
		t.Errorf("timeline phases %v, want before (restore point), revert and after (start)", phases)
	}
}

func TestBundleImageRelaunch(t *testing.T) {
	h := huntEmulated(t, 0, "aws-seed4-image-from-snapshot")
	f := h.find(t, content.RuleImageFromSnapshot)
	b := h.index.Explain(f, Options{})
	if len(b.Replaced) != 1 || b.Replaced[0].Kind != string(event.KindInstance) || len(b.Replaced[0].Deleted) != 1 {
		t.Fatalf("replaced: %+v, want the terminated instance", b.Replaced)
	}
	if len(b.Deletions) != 1 || b.Deletions[0].Operation != "TerminateInstances" {
		t.Errorf("deletions: %+v", b.Deletions)
	}
	var image *Lineage
	for i := range b.Lineage {
		if strings.HasPrefix(b.Lineage[i].Resource, "ami-") {
			image = &b.Lineage[i]
		}
	}
	if image == nil || image.Origin == nil || image.Origin.Operation != "RegisterImage" || len(image.MadeFrom) == 0 {
		t.Errorf("image lineage: %+v", image)
	}
}

// Every revert scenario explains without a missing step, with a playbook,
// and renders in every format.
func TestBundleEveryRevertScenario(t *testing.T) {
	var ids []string
	for _, s := range emulate.Catalog() {
		if s.Kind == emulate.KindRevert {
			ids = append(ids, s.ID)
		}
	}
	h := huntEmulated(t, 300, ids...)
	if len(h.findings) < len(ids) {
		t.Fatalf("%d findings for %d revert scenarios", len(h.findings), len(ids))
	}
	var bs []*Bundle
	for _, f := range h.findings {
		b := h.index.Explain(f, Options{})
		if len(b.Steps) != len(f.Evidence) {
			t.Errorf("%s: %d of %d steps found in the index; notes %v", f.RuleID, len(b.Steps), len(f.Evidence), b.Notes)
		}
		if b.Playbook.RuleID != f.RuleID {
			t.Errorf("%s: no playbook", f.RuleID)
		}
		if len(b.Timeline) == 0 {
			t.Errorf("%s: empty timeline", f.RuleID)
		}
		if strings.Contains(playbookText(b.Playbook), "{") && strings.Contains(playbookText(b.Playbook), "{finding}") {
			t.Errorf("%s: unfilled placeholder", f.RuleID)
		}
		marked := 0
		for _, g := range b.Timeline {
			for _, e := range g.Entries {
				if e.Step != "" {
					marked++
				}
			}
		}
		if marked != len(b.Steps) {
			t.Errorf("%s: %d steps marked on the timeline, want %d", f.RuleID, marked, len(b.Steps))
		}
		bs = append(bs, b)
	}
	for _, format := range Formats {
		var buf bytes.Buffer
		if err := Write(&buf, format, bs); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if buf.Len() == 0 {
			t.Errorf("%s: empty output", format)
		}
	}
	var buf bytes.Buffer
	if err := Write(&buf, FormatJSON, bs[:1]); err != nil {
		t.Fatal(err)
	}
	var back Bundle
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back.Finding.ID != bs[0].Finding.ID {
		t.Errorf("JSON does not round-trip: %v", err)
	}
}

// The same logs in the same order give byte-identical output.
func TestBundleDeterministic(t *testing.T) {
	render := func() string {
		h := huntEmulated(t, 200, "aws-*", "azure-seed3-*")
		var bs []*Bundle
		for _, f := range h.findings {
			bs = append(bs, h.index.Explain(f, Options{}))
		}
		var buf bytes.Buffer
		if err := Write(&buf, FormatJSON, bs); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	if a, b := render(), render(); a != b {
		t.Error("two runs over the same logs differ")
	}
}

func TestGoldenMarkdown(t *testing.T) {
	h := huntEmulated(t, 0, "aws-chain-snapshot-volume-attach")
	f := h.find(t, content.RuleSnapshotVolumeAttach)
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	h.index.Explain(f, Options{}).WriteMarkdown(w)
	w.Flush()
	path := filepath.Join("testdata", "aws-chain-snapshot-volume-attach.md")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./explain -run Golden -update)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Markdown differs from %s (rerun with -update if the change is meant):\n%s", path, buf.String())
	}
}

func TestIndexFoldsDuplicatesAndPhases(t *testing.T) {
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	x := NewIndex()
	ct := &event.Event{UID: "e1", Time: at, Provider: event.AWS, Operation: "StopInstances", OperationName: "StopInstances", Outcome: event.OutcomeSuccess}
	x.Add(ct)
	x.Add(ct)
	x.Add(&event.Event{UID: "e2", OriginalUID: "e1", Time: at, Provider: event.AWS, Operation: "StopInstances", OperationName: "StopInstances", Outcome: event.OutcomeSuccess})
	for i, o := range []event.Outcome{event.OutcomePending, event.OutcomePending, event.OutcomeSuccess} {
		x.Add(&event.Event{UID: "az" + string(rune('a'+i)), CorrelationUID: "c1", Time: at.Add(time.Duration(i) * time.Second),
			Provider: event.Azure, Operation: "microsoft.compute/disks/write", OperationName: "Microsoft.Compute/disks/write",
			ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d", Outcome: o})
	}
	x.Add(&event.Event{UID: "no-time", Provider: event.AWS, Operation: "StartInstances"})
	x.Add(nil)
	if x.Len() != 2 {
		t.Fatalf("%d entries, want 2 (one CloudTrail call, one Azure operation)", x.Len())
	}
	x.sort()
	if az := x.entries[1]; az.Outcome != "success" || az.UID != "azc" {
		t.Errorf("Azure operation folded to %+v, want the terminal phase", az)
	}
}

// Explain never panics on findings the logs know nothing about.
func TestExplainEmptyAndStrange(t *testing.T) {
	for _, f := range []finding.Finding{
		{},
		{ID: "x", RuleID: "no-such-rule", Provider: event.Azure, Resources: []event.Resource{{UID: "/a/b/diskRestorePoints/c"}}},
		{ID: "y", RuleID: content.RuleStopStart, Evidence: []finding.Evidence{{UID: "missing", Step: "stop"}}},
	} {
		b := NewIndex().Explain(f, Options{Window: time.Hour})
		if len(b.Notes) == 0 {
			t.Errorf("%q: no note saying what is missing", f.ID)
		}
		for _, format := range Formats {
			if err := Write(&bytes.Buffer{}, format, []*Bundle{b}); err != nil {
				t.Errorf("%q %s: %v", f.ID, format, err)
			}
		}
	}
	if err := Write(&bytes.Buffer{}, "xml", nil); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{
		20 * time.Second: "20s", 47 * time.Minute: "47m", 3 * time.Hour: "3h", 3*time.Hour + 5*time.Minute: "3h 5m",
		50 * time.Hour: "2d 2h", 72 * time.Hour: "3d", -2 * time.Minute: "2m",
	} {
		if got := human(d); got != want {
			t.Errorf("human(%v) = %q, want %q", d, got, want)
		}
	}
}
