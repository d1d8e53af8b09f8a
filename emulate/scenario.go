package emulate

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/revertwatch/revertwatch/event"
)

// Kind classifies a scenario by what a detector should make of it.
type Kind string

// The kinds of scenario.
const (
	KindRevert   Kind = "revert"    // an instance, disk or database rolled back: must be found
	KindBenign   Kind = "benign"    // a false positive of the seed's list: legitimate work that looks alike
	KindNearMiss Kind = "near-miss" // one detail away from a revert: must not be found
)

// Scenario is one emulated activity: ordered API calls on symbolic
// resources, and what a detector is expected to report about it.
type Scenario struct {
	ID       string
	Kind     Kind
	Title    string
	Provider string // event.AWS, event.Azure or event.GCP
	SeedTest int    // the seed's Testing Methodology test number, 0 if none
	// Expect lists the rule ids (Rules) whose findings the scenario must
	// produce, the main one first; empty when no finding is expected.
	Expect []string
	// Count is the exact number of findings (distinct finding ids) of
	// the main rule, Expect[0], when the scenario repeats the revert;
	// 0 means at least one.
	Count int
	// Why says what makes the scenario a revert, or keeps it from one.
	Why   string
	Calls []Call
}

// Call is one API call of a scenario.
type Call struct {
	After   time.Duration // event time since the previous call (since the scenario start for the first)
	Op      string        // CloudTrail eventName, or Azure operation name
	Actor   string        // key of awsActors or azActors
	Account string        // "" for the scenario's account, "other" for the second account or subscription
	Region  string        // AWS region, "" for the scenario's
	Error   string        // CloudTrail errorCode: the call failed, or was a dry run; Azure: the operation ends in a Failure record with this error code
	Late    bool          // delivered 8–15 minutes later than usual, after the next call's file
	Dup     bool          // delivered twice in S3 (same eventID), as CloudTrail occasionally does
	NoBody  bool          // Azure: no request or response body was logged
	NoEnd   bool          // Azure: only the Start and Accept records were kept, not the one saying how the operation ended; GCP: only the operation's first entry
	Args
}

// Args name the resources a call touches. AWS names are symbols that
// become EC2, RDS and Backup ids per scenario and seed; Azure names are the
// resource names as a person chose them.
type Args struct {
	Instance string // instance acted on, or created by RunInstances
	Volume   string // volume acted on, created by CreateVolume, or the source of CreateSnapshot
	Snapshot string // snapshot created, copied from, registered, restored or deleted (also Azure)
	Copy     string // snapshot or image created by CopySnapshot or CopyImage
	Image    string // image registered, created, copied from or launched
	Device   string // device name of an attach, or the root device of an image
	SrcRgn   string // source region of a copy
	Size     int    // volume size in GiB

	DB         string // RDS DB instance (target of a restore)
	SourceDB   string // RDS DB instance restored from (point in time)
	DBSnapshot string // RDS DB (cluster) snapshot restored from
	Cluster    string // RDS cluster (target)
	SrcCluster string // RDS cluster restored from (point in time)

	RG           string // Azure resource group
	VM           string // Azure virtual machine (or scale set for scale-set operations)
	Disk         string // Azure disk created, or swapped in as the OS disk
	DataDisk     string // Azure disk attached as a data disk
	SourceDisk   string // Azure disk a snapshot is taken of
	CreateOption string // Azure creationData.createOption
	Collection   string // Azure restore point collection
	RestorePoint string // Azure restore point (with Collection), or Backup recovery point id
	Vault        string // Azure Recovery Services vault

	MachineImage string // Google Cloud machine image created, or an instance's sourceMachineImage
	Boot         bool   // Google Cloud: the disk is attached as the boot disk
}

// Catalog returns every scenario, in a stable order.
func Catalog() []*Scenario { return catalog() }

// Select returns the scenarios whose id matches one of the patterns (ids
// or path.Match globs), in catalog order. No patterns select everything;
// a pattern that matches nothing is an error.
func Select(all []*Scenario, patterns []string) ([]*Scenario, error) {
	if len(patterns) == 0 {
		return all, nil
	}
	var out []*Scenario
	used := make([]bool, len(patterns))
	for _, s := range all {
		for i, p := range patterns {
			ok, err := path.Match(p, s.ID)
			if err != nil {
				return nil, fmt.Errorf("bad scenario pattern %q: %w", p, err)
			}
			if ok {
				used[i] = true
				out = append(out, s)
				break
			}
		}
	}
	for i, p := range patterns {
		if !used[i] {
			return nil, fmt.Errorf("no scenario matches %q (see 'revertwatch emulate --list')", p)
		}
	}
	return out, nil
}

// check validates the catalog: unique ids, known actors and operations,
// expectations that agree with the kind.
func check(all []*Scenario) error {
	seen := map[string]bool{}
	known := map[string]bool{}
	for _, r := range Rules {
		known[r.ID] = true
	}
	for _, s := range all {
		if seen[s.ID] {
			return fmt.Errorf("scenario %s: duplicate id", s.ID)
		}
		seen[s.ID] = true
		if s.Kind == KindNearMiss && len(s.Expect) > 0 {
			return fmt.Errorf("scenario %s: a near-miss expects no finding", s.ID)
		}
		if s.Kind == KindRevert && len(s.Expect) == 0 {
			return fmt.Errorf("scenario %s: a revert must expect a finding", s.ID)
		}
		if s.Count < 0 || (s.Count > 0 && len(s.Expect) == 0) {
			return fmt.Errorf("scenario %s: a count needs an expected rule", s.ID)
		}
		for _, r := range s.Expect {
			if !known[r] {
				return fmt.Errorf("scenario %s: unknown rule %q", s.ID, r)
			}
		}
		for i, c := range s.Calls {
			switch s.Provider {
			case event.AWS:
				if _, ok := awsActors[c.Actor]; !ok {
					return fmt.Errorf("scenario %s call %d: unknown AWS actor %q", s.ID, i, c.Actor)
				}
				if _, ok := awsOps[c.Op]; !ok {
					return fmt.Errorf("scenario %s call %d: no renderer for %s", s.ID, i, c.Op)
				}
			case event.Azure:
				if _, ok := azActors[c.Actor]; !ok {
					return fmt.Errorf("scenario %s call %d: unknown Azure actor %q", s.ID, i, c.Actor)
				}
				if _, ok := azOps[strings.ToLower(c.Op)]; !ok {
					return fmt.Errorf("scenario %s call %d: no renderer for %s", s.ID, i, c.Op)
				}
			case event.GCP:
				if _, ok := gcpActors[c.Actor]; !ok {
					return fmt.Errorf("scenario %s call %d: unknown Google Cloud actor %q", s.ID, i, c.Actor)
				}
				if _, ok := gcpOps[c.Op]; !ok {
					return fmt.Errorf("scenario %s call %d: no renderer for %s", s.ID, i, c.Op)
				}
			default:
				return fmt.Errorf("scenario %s: unknown provider %q", s.ID, s.Provider)
			}
		}
	}
	return nil
}
