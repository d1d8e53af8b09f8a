package content

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/level"
	"github.com/revertwatch/revertwatch/sequence"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

const (
	acct   = "111122223333"
	region = "us-east-1"
	sub    = "0b5c7a2e-0000-4000-8000-00000000abcd"
)

// at is minutes after t0.
func at(min float64) time.Time { return t0.Add(time.Duration(min * float64(time.Minute))) }

// ct builds a successful CloudTrail call; the helpers below fill its keys
// the way ingest/cloudtrail does.
func ct(uid string, min float64, op string) *event.Event {
	return &event.Event{
		Time: at(min), Provider: event.AWS, UID: uid, Account: acct, Region: region,
		Operation: op, OperationName: op, Outcome: event.OutcomeSuccess,
		Caller: "arn:aws:iam::111122223333:user/mallory",
		Actor:  event.Actor{UID: "arn:aws:iam::111122223333:user/mallory", Type: "IAMUser"},
	}
}

func stop(uid string, min float64, ids ...string) *event.Event {
	ev := ct(uid, min, "StopInstances")
	for _, id := range ids {
		ev.AddResource(event.KindInstance, event.RoleTarget, id)
	}
	return ev
}

func start(uid string, min float64, ids ...string) *event.Event {
	ev := ct(uid, min, "StartInstances")
	for _, id := range ids {
		ev.AddResource(event.KindInstance, event.RoleTarget, id)
	}
	return ev
}

func createVolume(uid string, min float64, snap, vol string) *event.Event {
	ev := ct(uid, min, "CreateVolume")
	ev.AddResource(event.KindSnapshot, event.RoleSource, snap)
	ev.AddResource(event.KindVolume, event.RoleCreated, vol)
	return ev
}

func attach(uid string, min float64, vol, inst, dev string) *event.Event {
	ev := ct(uid, min, "AttachVolume")
	ev.AddResource(event.KindVolume, event.RoleTarget, vol)
	ev.AddResource(event.KindInstance, event.RoleAttachedTo, inst)
	ev.Keys.Devices = []string{dev}
	return ev
}

func createSnapshot(uid string, min float64, vol, snap string) *event.Event {
	ev := ct(uid, min, "CreateSnapshot")
	ev.AddResource(event.KindVolume, event.RoleSource, vol)
	ev.AddResource(event.KindSnapshot, event.RoleCreated, snap)
	return ev
}

func copySnapshot(uid string, min float64, src, snap string) *event.Event {
	ev := ct(uid, min, "CopySnapshot")
	ev.AddResource(event.KindSnapshot, event.RoleSource, src)
	ev.AddResource(event.KindSnapshot, event.RoleCreated, snap)
	return ev
}

func registerImage(uid string, min float64, ami string, snaps ...string) *event.Event {
	ev := ct(uid, min, "RegisterImage")
	ev.Keys.RootDeviceName = "/dev/xvda"
	for _, s := range snaps {
		ev.AddResource(event.KindSnapshot, event.RoleSource, s)
	}
	ev.AddResource(event.KindImage, event.RoleCreated, ami)
	return ev
}

func runInstances(uid string, min float64, ami string, insts ...string) *event.Event {
	ev := ct(uid, min, "RunInstances")
	ev.AddResource(event.KindImage, event.RoleSource, ami)
	for _, i := range insts {
		ev.AddResource(event.KindInstance, event.RoleCreated, i)
	}
	return ev
}

// az builds a successful Azure Activity Log record of an operation.
func az(uid string, min float64, op, resource string) *event.Event {
	ev := &event.Event{
		Time: at(min), Provider: event.Azure, UID: uid, CorrelationUID: "corr-" + uid, Account: sub,
		Operation: strings.ToLower(op), OperationName: op, Outcome: event.OutcomeSuccess, Phase: event.PhaseEnd,
		Caller: "mallory@contoso.example", ResourceID: resource,
		Actor: event.Actor{Name: "mallory@contoso.example"},
	}
	kind := event.KindAzure
	switch {
	case strings.Contains(strings.ToLower(resource), "/disks/"):
		kind = event.KindDisk
	case strings.Contains(strings.ToLower(resource), "/virtualmachines/"):
		kind = event.KindVM
	case strings.Contains(strings.ToLower(resource), "/recoverypoints/"):
		kind = event.KindRecoveryPoint
	}
	role := event.RoleTarget
	if strings.HasSuffix(ev.Operation, "/write") {
		role = event.RoleCreated
	}
	ev.AddResource(kind, role, resource)
	if kind == event.KindVM {
		ev.Keys.VM = strings.ToLower(resource)
	}
	return ev
}

func armID(kind, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/RG-Prod/providers/Microsoft.Compute/" + kind + "/" + name
}

var (
	vm1    = armID("virtualMachines", "web01")
	disk1  = armID("disks", "web01-os-restored")
	snapAz = armID("snapshots", "web01-os-2026-02-01")
)

func diskWrite(uid string, min float64, disk, createOption, source string) *event.Event {
	ev := az(uid, min, "Microsoft.Compute/disks/write", disk)
	ev.Keys.CreateOption = createOption
	if source != "" {
		ev.Keys.SourceResource = strings.ToLower(source)
		ev.AddResource(event.KindSnapshot, event.RoleSource, source)
	}
	return ev
}

func vmWrite(uid string, min float64, vm, osDisk string) *event.Event {
	ev := az(uid, min, "Microsoft.Compute/virtualMachines/write", vm)
	if osDisk != "" {
		ev.AddResource(event.KindDisk, event.RoleAttachedTo, osDisk)
	}
	return ev
}

func deallocate(uid string, min float64, vm string) *event.Event {
	return az(uid, min, "Microsoft.Compute/virtualMachines/deallocate/action", vm)
}

func withPhase(ev *event.Event, ph event.Phase) *event.Event {
	c := *ev
	c.Phase, c.Outcome = ph, event.OutcomePending
	c.UID = ev.UID + "-" + string(ph)
	return &c
}

func failed(ev *event.Event, code string) *event.Event {
	ev.Outcome, ev.ErrorCode = event.OutcomeFailure, code
	return ev
}

func hunt(t *testing.T, evs ...*event.Event) []*sequence.Match {
	t.Helper()
	var out []*sequence.Match
	e, err := sequence.New(RevertRules(), sequence.Options{OnMatch: func(m *sequence.Match) { out = append(out, m) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		e.Process(ev)
	}
	e.Flush()
	return out
}

// summary renders matches as "rule: uid uid ..." (step evidence only) for
// comparison.
func summary(ms []*sequence.Match) []string {
	var out []string
	for _, m := range ms {
		var uids []string
		for _, x := range m.Steps() {
			uids = append(uids, x.Event.UID)
		}
		out = append(out, m.Rule+": "+strings.Join(uids, " "))
	}
	return out
}

func expect(t *testing.T, got []*sequence.Match, want ...string) {
	t.Helper()
	s := summary(got)
	if len(s) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("matches:\n got  %q\n want %q", s, want)
	}
}

func TestDetectionsCompile(t *testing.T) {
	ds := Reverts()
	if len(ds) != 24 {
		t.Errorf("%d detections", len(ds))
	}
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d.ID()] || d.Title == "" || d.Description == "" || len(d.NextSteps) == 0 {
			t.Errorf("%s: duplicate id or missing text", d.ID())
		}
		seen[d.ID()] = true
		if d.Attack.SubTechnique.ID != "T1578.004" || d.Attack.Tactic.Name != "Defense Evasion" {
			t.Errorf("%s: attack mapping %+v", d.ID(), d.Attack)
		}
	}
	if _, err := sequence.New(RevertRules(), sequence.Options{}); err != nil {
		t.Fatal(err)
	}
	// Fresh values: changing one call's rules leaves the next call's alone.
	a := Reverts()
	a[1].Rule.Steps[0].Bind[0].Name = "changed"
	if b := Reverts(); b[1].Rule.Steps[0].Bind[0].Name == "changed" {
		t.Error("Reverts shares slices between calls")
	}
}

// The seed's four test scenarios.
func TestSeedScenarios(t *testing.T) {
	t.Run("1 stop and start", func(t *testing.T) {
		ms := hunt(t, stop("e1", 0, "i-0a1"), start("e2", 3, "i-0a1"))
		expect(t, ms, RuleStopStart+": e1 e2")
		if got := ms[0].Binding("instance"); got != "i-0a1" {
			t.Errorf("instance binding %q", got)
		}
	})
	t.Run("2 volume from snapshot attached", func(t *testing.T) {
		ms := hunt(t, createVolume("e1", 0, "snap-1", "vol-new"), attach("e2", 4, "vol-new", "i-0a1", "/dev/sdf"))
		expect(t, ms, RuleVolumeFromSnapshot+": e1 e2")
		if len(ms) == 1 && len(ms[0].Adjustments) != 0 {
			t.Errorf("data-disk attach without a stop has adjustments %v", ms[0].Adjustments)
		}
	})
	t.Run("3 azure disk copy from snapshot swapped in", func(t *testing.T) {
		ms := hunt(t,
			deallocate("z1", 0, vm1),
			diskWrite("z2", 2, disk1, "Copy", snapAz),
			vmWrite("z3", 5, vm1, disk1),
			az("z4", 7, "Microsoft.Compute/virtualMachines/start/action", vm1),
		)
		expect(t, ms, RuleAzureDiskSwap+": z2 z3")
		if len(ms) == 1 {
			if ev := ms[0].Evidence; len(ev) != 3 || !ev[0].Context || ev[0].Event.UID != "z1" {
				t.Errorf("want the deallocate as context evidence first, got %+v", ev)
			}
			d, _ := RevertByID(RuleAzureDiskSwap)
			if _, conf := d.Assess(ms[0]); conf != level.High {
				t.Errorf("confidence %v after a deallocate, want high", conf)
			}
		}
	})
	t.Run("4 ami from snapshot launched", func(t *testing.T) {
		ms := hunt(t, registerImage("e1", 0, "ami-1", "snap-1"), runInstances("e2", 10, "ami-1", "i-new"))
		expect(t, ms, RuleImageFromSnapshot+": e1 e2")
	})
}

func TestRootSwapAdjustments(t *testing.T) {
	ms := hunt(t,
		stop("e0", 0, "i-0a1"),
		createVolume("e1", 1, "snap-1", "vol-new"),
		attach("e2", 4, "vol-new", "i-0a1", "/dev/xvda"),
		start("e3", 5, "i-0a1"),
	)
	expect(t, ms, RuleVolumeFromSnapshot+": e1 e2", RuleStopStart+": e0 e3")
	d, _ := RevertByID(RuleVolumeFromSnapshot)
	sev, conf := d.Assess(ms[0])
	if sev != level.Critical || conf != level.High {
		t.Errorf("root swap of a stopped instance: severity %v confidence %v, want critical high (%+v)", sev, conf, ms[0].Adjustments)
	}
	if ev := ms[0].Evidence; len(ev) != 3 || ev[0].Step != "stop" || !ev[0].Context {
		t.Errorf("evidence %+v", ev)
	}
}

func TestServiceActorLowersConfidence(t *testing.T) {
	a, b := createVolume("e1", 0, "snap-1", "vol-new"), attach("e2", 4, "vol-new", "i-0a1", "/dev/sdf")
	b.Actor.ServiceInitiated, b.Actor.InvokedBy = true, "backup.amazonaws.com"
	ms := hunt(t, a, b)
	expect(t, ms, RuleVolumeFromSnapshot+": e1 e2")
	d, _ := RevertByID(RuleVolumeFromSnapshot)
	if _, conf := d.Assess(ms[0]); conf != level.Low {
		t.Errorf("service-initiated confidence %v, want low", conf)
	}
}

func TestMultiHopChains(t *testing.T) {
	t.Run("snapshot volume instance", func(t *testing.T) {
		ms := hunt(t,
			createSnapshot("e1", 0, "vol-old", "snap-1"),
			createVolume("e2", 30, "snap-1", "vol-new"),
			attach("e3", 35, "vol-new", "i-0a1", "/dev/xvda"),
		)
		expect(t, ms, RuleSnapshotVolumeAttach+": e1 e2 e3")
		if len(ms) == 1 {
			want := []sequence.Binding{{Name: "snapshot", Value: "snap-1"}, {Name: "volume", Value: "vol-new"}, {Name: "instance", Value: "i-0a1"}}
			if !reflect.DeepEqual(ms[0].Bindings, want) {
				t.Errorf("bindings %v", ms[0].Bindings)
			}
		}
	})
	t.Run("copied snapshot", func(t *testing.T) {
		ms := hunt(t,
			copySnapshot("e1", 0, "snap-src", "snap-copy"),
			createVolume("e2", 30, "snap-copy", "vol-new"),
			attach("e3", 35, "vol-new", "i-0a1", "/dev/sdf"),
		)
		expect(t, ms, RuleSnapshotVolumeAttach+": e1 e2 e3")
	})
	t.Run("snapshot image instance", func(t *testing.T) {
		ms := hunt(t,
			createSnapshot("e1", 0, "vol-old", "snap-1"),
			registerImage("e2", 30, "ami-1", "snap-1"),
			runInstances("e3", 40, "ami-1", "i-new"),
		)
		expect(t, ms, RuleSnapshotImageLaunch+": e1 e2 e3")
	})
	t.Run("snapshot older than the window: the tail alone", func(t *testing.T) {
		ms := hunt(t,
			createSnapshot("e1", 0, "vol-old", "snap-1"),
			createVolume("e2", 25*60, "snap-1", "vol-new"),
			attach("e3", 25*60+5, "vol-new", "i-0a1", "/dev/sdf"),
		)
		expect(t, ms, RuleVolumeFromSnapshot+": e2 e3")
	})
	t.Run("one snapshot restored twice", func(t *testing.T) {
		ms := hunt(t,
			createSnapshot("e1", 0, "vol-old", "snap-1"),
			createVolume("e2", 30, "snap-1", "vol-a"),
			createVolume("e3", 31, "snap-1", "vol-b"),
			attach("e4", 35, "vol-b", "i-0b", "/dev/sdf"),
			attach("e5", 36, "vol-a", "i-0a", "/dev/sdf"),
		)
		expect(t, ms, RuleSnapshotVolumeAttach+": e1 e3 e4", RuleSnapshotVolumeAttach+": e1 e2 e5")
	})
}

func TestNativeReverts(t *testing.T) {
	rr := ct("e1", 0, "CreateReplaceRootVolumeTask")
	rr.AddResource(event.KindInstance, event.RoleTarget, "i-0a1")
	rr.AddResource(event.KindRestoreTask, event.RoleCreated, "replacevol-1")
	rrSnap := ct("e2", 1, "CreateReplaceRootVolumeTask")
	rrSnap.AddResource(event.KindInstance, event.RoleTarget, "i-0a2")
	rrSnap.AddResource(event.KindSnapshot, event.RoleSource, "snap-9")
	snap9 := createSnapshot("e0", -60, "vol-root", "snap-9")
	backup := ct("e3", 2, "StartRestoreJob")
	backup.AddResource(event.KindRecoveryPoint, event.RoleSource, "arn:aws:ec2:us-east-1::snapshot/snap-7")
	var rds []*event.Event
	for i, op := range []string{"RestoreDBInstanceFromDBSnapshot", "RestoreDBInstanceToPointInTime", "RestoreDBClusterFromSnapshot", "RestoreDBClusterToPointInTime"} {
		ev := ct(fmt.Sprintf("r%d", i), 3+float64(i), op)
		ev.AddResource(event.KindDBInstance, event.RoleCreated, "db-restored")
		rds = append(rds, ev)
	}
	rds[1].Keys.RestoreTime = "2026-02-27T00:00:00Z"
	reimage := az("z1", 10, "Microsoft.Compute/virtualMachines/reimage/action", vm1)
	vmss := az("z2", 11, "MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/REIMAGEALL/ACTION", armID("virtualMachineScaleSets", "web"))
	vault := az("z3", 12, "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action",
		"/subscriptions/"+sub+"/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1/backupFabrics/Azure/protectionContainers/c/protectedItems/p/recoveryPoints/123")

	evs := append([]*event.Event{snap9, rr, rrSnap, backup}, rds...)
	evs = append(evs, reimage, vmss, vault)
	ms := hunt(t, evs...)
	expect(t, ms,
		RuleReplaceRootVolume+": e1", RuleReplaceRootVolume+": e2", RuleBackupRestore+": e3",
		RuleRDSRestore+": r0", RuleRDSRestore+": r1", RuleRDSRestore+": r2", RuleRDSRestore+": r3",
		RuleAzureReimage+": z1", RuleAzureReimage+": z2", RuleAzureBackupRestore+": z3")
	if len(ms) < 4 {
		return
	}
	if a := ms[0].Adjustments; len(a) != 1 || !strings.Contains(a[0].Reason, "launch state") {
		t.Errorf("reset to launch state not noted: %v", a)
	}
	if ev := ms[1].Evidence; len(ev) != 2 || ev[0].Event.UID != "e0" {
		t.Errorf("replace-root from snap-9 should carry the CreateSnapshot as context: %+v", ev)
	}
	if a := ms[4].Adjustments; len(a) != 1 || !strings.Contains(a[0].Reason, "point in time") {
		t.Errorf("point-in-time restore not noted: %v", ms[4].Adjustments)
	}
}

func TestAzureBodylessDegradedPath(t *testing.T) {
	ms := hunt(t,
		deallocate("z1", 0, vm1),
		diskWrite("z2", 2, disk1, "", ""),
		vmWrite("z3", 5, vm1, ""),
	)
	expect(t, ms, RuleAzureDiskSwapBodyless+": z2 z3")
	if len(ms) == 1 {
		d, _ := RevertByID(RuleAzureDiskSwapBodyless)
		if _, conf := d.Assess(ms[0]); conf != level.Low {
			t.Errorf("body-less confidence %v, want low", conf)
		}
	}
	// No deallocate: nothing. Another caller: nothing.
	expect(t, hunt(t, diskWrite("z2", 2, disk1, "", ""), vmWrite("z3", 5, vm1, "")))
	other := vmWrite("z3", 5, vm1, "")
	other.Caller = "someone-else@contoso.example"
	expect(t, hunt(t, deallocate("z1", 0, vm1), diskWrite("z2", 2, disk1, "", ""), other))
}

func TestAzureMultiPhase(t *testing.T) {
	// The request body (createOption) is only on the Start record and the
	// response body (osDisk) only on Accept; the terminal records carry
	// neither. Phases arrive out of order.
	dStart := withPhase(diskWrite("z2", 2, disk1, "Copy", snapAz), event.PhaseStart)
	dEnd := az("z2", 2.5, "Microsoft.Compute/disks/write", disk1)
	dEnd.CorrelationUID = dStart.CorrelationUID
	vAccept := withPhase(vmWrite("z3", 5, vm1, disk1), event.PhaseAccept)
	vEnd := vmWrite("z3", 6, vm1, "")
	vEnd.CorrelationUID = vAccept.CorrelationUID
	ms := hunt(t, dEnd, deallocate("z1", 0, vm1), vAccept, dStart, vEnd)
	expect(t, ms, RuleAzureDiskSwap+": z2 z3")
	if len(ms) == 1 && (len(ms[0].Evidence[1].Phases) != 1 || ms[0].Evidence[1].Phases[0].Phase != event.PhaseStart) {
		t.Errorf("the disk's Start record should be kept as a phase: %+v", ms[0].Evidence[1])
	}
	// Started but never succeeded: nothing.
	expect(t, hunt(t, deallocate("z1", 0, vm1), diskWrite("z2", 2, disk1, "Copy", snapAz), withPhase(vmWrite("z3", 5, vm1, disk1), event.PhaseStart)))
	// Failed: nothing.
	expect(t, hunt(t, diskWrite("z2", 2, disk1, "Copy", snapAz), failed(vmWrite("z3", 5, vm1, disk1), "Conflict")))
}

func TestOutOfOrderAndLate(t *testing.T) {
	// Start delivered before stop, 10 minutes late: within lateness.
	expect(t, hunt(t, start("e2", 3, "i-0a1"), ct("noise", 12, "DescribeInstances"), stop("e1", 0, "i-0a1")),
		RuleStopStart+": e1 e2")
	// The stop arrives 20 minutes after the watermark passed it: reported
	// as late, and replayed in its place.
	var late []string
	e, _ := sequence.New(RevertRules(), sequence.Options{OnLate: func(ev *event.Event) { late = append(late, ev.UID) }})
	e.Process(start("e2", 3, "i-0a1"))
	e.Process(ct("noise", 40, "DescribeInstances"))
	e.Process(stop("e1", 0, "i-0a1"))
	e.Flush()
	if s := e.Stats(); s.Matches != 1 || s.Late != 1 || s.Replays != 1 || !reflect.DeepEqual(late, []string{"e1"}) {
		t.Errorf("late beyond lateness: stats %+v late %v", s, late)
	}
}

func TestDuplicates(t *testing.T) {
	a, b := stop("e1", 0, "i-0a1"), start("e2", 3, "i-0a1")
	b2 := *b
	redelivered := start("e2-updated", 3, "i-0a1")
	redelivered.OriginalUID = "e2"
	ms := hunt(t, a, b, &b2, redelivered, a)
	expect(t, ms, RuleStopStart+": e1 e2")
}

// Near-misses that must not fire.
func TestNearMisses(t *testing.T) {
	dry := attach("e2", 4, "vol-new", "i-0a1", "/dev/xvda")
	dry.Outcome, dry.ErrorCode = event.OutcomeNoOp, "Client.DryRunOperation"
	otherAcct := start("e2", 3, "i-0a1")
	otherAcct.Account = "444455556666"
	otherRegion := start("e2", 3, "i-0a1")
	otherRegion.Region = "eu-west-1"
	emptyVol := ct("e1", 0, "CreateVolume")
	emptyVol.AddResource(event.KindVolume, event.RoleCreated, "vol-new")
	cases := []struct {
		name string
		evs  []*event.Event
	}{
		{"stop one instance, start another", []*event.Event{stop("e1", 0, "i-0a1"), start("e2", 3, "i-0b2")}},
		{"start before stop", []*event.Event{start("e1", 0, "i-0a1"), stop("e2", 3, "i-0a1")}},
		{"volume from snapshot never attached", []*event.Event{createVolume("e1", 0, "snap-1", "vol-new"), attach("e2", 4, "vol-other", "i-0a1", "/dev/sdf")}},
		{"empty volume attached", []*event.Event{emptyVol, attach("e2", 4, "vol-new", "i-0a1", "/dev/xvda")}},
		{"attach before create", []*event.Event{attach("e1", 0, "vol-new", "i-0a1", "/dev/sdf"), createVolume("e2", 4, "snap-1", "vol-new")}},
		{"different accounts", []*event.Event{stop("e1", 0, "i-0a1"), otherAcct}},
		{"different regions", []*event.Event{stop("e1", 0, "i-0a1"), otherRegion}},
		{"failed AttachVolume", []*event.Event{createVolume("e1", 0, "snap-1", "vol-new"), failed(attach("e2", 4, "vol-new", "i-0a1", "/dev/xvda"), "Client.CustomerKeyHasBeenRevoked")}},
		{"failed StopInstances", []*event.Event{failed(stop("e1", 0, "i-0a1"), "Client.UnauthorizedOperation"), start("e2", 3, "i-0a1")}},
		{"dry-run AttachVolume", []*event.Event{createVolume("e1", 0, "snap-1", "vol-new"), dry}},
		{"azure disk created Empty", []*event.Event{deallocate("z1", 0, vm1), diskWrite("z2", 2, disk1, "Empty", ""), vmWrite("z3", 5, vm1, disk1)}},
		{"azure disk copied from another disk", []*event.Event{diskWrite("z2", 2, disk1, "Copy", armID("disks", "web01-os")), vmWrite("z3", 5, vm1, disk1)}},
		{"azure VM written with another OS disk", []*event.Event{diskWrite("z2", 2, disk1, "Copy", snapAz), vmWrite("z3", 5, vm1, armID("disks", "other"))}},
		{"RunInstances from an image not registered from a snapshot here", []*event.Event{registerImage("e1", 0, "ami-1", "snap-1"), runInstances("e2", 10, "ami-2", "i-new")}},
		{"RegisterImage without a snapshot", []*event.Event{registerImage("e1", 0, "ami-1"), runInstances("e2", 10, "ami-1", "i-new")}},
		{"stop and start beyond the window", []*event.Event{stop("e1", 0, "i-0a1"), start("e2", 24*60+1, "i-0a1")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { expect(t, hunt(t, c.evs...)) })
	}
}
