package content

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/sequence"
)

// corpus builds n decoded events shaped like a busy organization trail
// read from S3: files of 500 events of one account and region (20 accounts
// × 4 regions, plus 3 Azure subscriptions), 16%/scale‰ of them calls some
// rule uses (scale 1 gives 16%, far more than real trails, where
// Describe/Get/List dominate; scale 8 gives 2%):
// instance stops and starts, snapshots, volumes, attaches, launches and
// Azure operations with their phases; duplicates, failures, and arrival up
// to ten minutes out of order.
func corpus(n int, seed int64, scale int) []*event.Event {
	rng := rand.New(rand.NewSource(seed))
	noise := []string{"DescribeInstances", "AssumeRole", "GetObject", "PutObject", "ListBuckets", "DescribeVolumes",
		"CreateTags", "GetCallerIdentity", "DescribeSnapshots", "Decrypt", "GenerateDataKey", "ConsoleLogin"}
	accounts := make([]string, 20)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("1000000000%02d", i)
	}
	regions := []string{"us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"}
	out := make([]*event.Event, 0, n)
	id := func(prefix string, k int) string { return fmt.Sprintf("%s-%017x", prefix, k) }
	var account, region string
	for i := 0; len(out) < n; i++ {
		if i%500 == 0 { // a new file
			account, region = accounts[rng.Intn(len(accounts))], regions[rng.Intn(len(regions))]
		}
		min := float64(i)/200 + rng.Float64()*10 // ~200 events a minute, 10 minutes of disorder
		uid := fmt.Sprintf("evt-%d", i)
		var ev *event.Event
		switch r := rng.Intn(1000 * scale); {
		case r < 40:
			ev = stop(uid, min, id("i", rng.Intn(5000)))
		case r < 80:
			ev = start(uid, min, id("i", rng.Intn(5000)))
		case r < 100:
			ev = createSnapshot(uid, min, id("vol", rng.Intn(5000)), id("snap", i))
		case r < 110:
			ev = createVolume(uid, min, id("snap", rng.Intn(i+1)), id("vol", 10000+i))
		case r < 125:
			ev = attach(uid, min, id("vol", rng.Intn(i+10000)), id("i", rng.Intn(5000)), "/dev/sdf")
		case r < 135:
			ev = runInstances(uid, min, id("ami", rng.Intn(200)), id("i", 20000+i))
		case r < 137:
			ev = registerImage(uid, min, id("ami", rng.Intn(200)), id("snap", rng.Intn(i+1)))
		case r < 160:
			sub := fmt.Sprintf("sub-%d", rng.Intn(3))
			vm := fmt.Sprintf("/subscriptions/%s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm%d", sub, rng.Intn(300))
			switch rng.Intn(3) {
			case 0:
				ev = deallocate(uid, min, vm)
			case 1:
				ev = vmWrite(uid, min, vm, "")
			default:
				ev = diskWrite(uid, min, fmt.Sprintf("/subscriptions/%s/resourcegroups/rg/providers/microsoft.compute/disks/d%d", sub, i), "Empty", "")
			}
			ev.Account = sub
			if rng.Intn(2) == 0 { // its Start record arrives too
				out = append(out, withPhase(ev, event.PhaseStart))
			}
		default:
			ev = ct(uid, min, noise[rng.Intn(len(noise))])
		}
		if ev.Provider == event.AWS {
			ev.Account, ev.Region = account, region
		}
		switch rng.Intn(200) {
		case 0:
			ev.Outcome = event.OutcomeFailure
		case 1:
			out = append(out, ev) // delivered twice
		}
		out = append(out, ev)
	}
	return out[:n]
}

// BenchmarkRevertRules measures events per second through every revert
// rule on decoded events (decoding is the ingest package's benchmark), and
// the state left: partial sequences at the peak and the snapshot size
// before the final flush.
func BenchmarkRevertRules(b *testing.B) {
	for _, c := range []struct {
		name  string
		scale int
	}{{"relevant=16%", 1}, {"relevant=2%", 8}} {
		b.Run(c.name, func(b *testing.B) {
			evs := corpus(1_000_000, 1, c.scale)
			rules := RevertRules()
			b.ReportAllocs()
			b.ResetTimer()
			var st sequence.Stats
			var snap []byte
			var busy time.Duration
			for i := 0; i < b.N; i++ {
				e, err := sequence.New(rules, sequence.Options{OnMatch: func(*sequence.Match) {}})
				if err != nil {
					b.Fatal(err)
				}
				t := time.Now()
				for _, ev := range evs {
					e.Process(ev)
				}
				busy += time.Since(t)
				if i == b.N-1 {
					b.StopTimer()
					snap, _ = e.Snapshot()
					b.StartTimer()
				}
				t = time.Now()
				e.Flush()
				busy += time.Since(t)
				st = e.Stats()
			}
			b.ReportMetric(float64(len(evs))*float64(b.N)/busy.Seconds(), "events/s")
			b.ReportMetric(float64(busy.Nanoseconds())/float64(len(evs)*b.N), "ns/event")
			b.ReportMetric(float64(st.PeakPartials), "peak-partials")
			b.ReportMetric(float64(len(snap))/(1<<20), "state-MiB")
			b.ReportMetric(float64(st.Matches), "matches")
		})
	}
}
