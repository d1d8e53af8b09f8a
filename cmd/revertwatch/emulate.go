package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/revertwatch/revertwatch/emulate"
)

func newEmulateCmd() *cobra.Command {
	var (
		out, scenarios, shapes   string
		order, span, cardinality string
		seed                     int64
		noise, scale, azScale    int
		files                    int
		list, force              bool
	)
	cmd := &cobra.Command{
		Use:   "emulate -o DIR [flags]",
		Short: "Write emulated revert, benign and near-miss telemetry with its ground truth",
		Long: `emulate writes the CloudTrail and Azure Activity Log records of the seed's four
tests, the native revert APIs, multi-hop chains, benign look-alikes and
near-misses, in every delivery shape revertwatch reads:

  cloudtrail-records      S3 delivery files, AWSLogs/<account>/CloudTrail/<region>/... .json.gz
  cloudtrail-eventbridge  EventBridge "AWS API Call via CloudTrail" events, one per line
  cloudtrail-lines        CloudTrail records, one per line
  azure-storage           insights-activity-logs/resourceId=/SUBSCRIPTIONS/<sub>/y=/m=/d=/h=/m=00/PT1H.json
  azure-eventhub          Event Hub messages {"records":[...]}
  azure-rest              the Activity Log REST list {"value":[...]}
  azure-loganalytics      AzureActivity table rows

Each scenario goes to DIR/<shape>/<scenario>/, background noise to
DIR/<shape>/background/, and DIR/truth.json says, per scenario, its kind,
whether a finding is expected and from which rule (and how many, when a
scenario repeats), its resource ids and the files and event counts per
shape. Output is the same for the same --seed, byte for byte.

--order sets the order records reach a reader in, inside each file and
across the files of a directory in the lexical order a walk reads them:

  oldest-first  as each source writes it (the default): S3 files by
                delivery time, records by time; Storage and Event Hub in
                arrival order; the REST list newest first, as the API
                returns it
  newest-first  the newest record first in every file, and the records of
                each directory redistributed over its files (names and
                record counts kept) so that the walk reads times that
                never increase, as from lookup-events or activity-log list
  shuffled      the records of each directory redistributed over its files
                at random from --seed, in random order inside each file

--span (1d to 90d, whole days; 2160h works too) spreads the background
noise over that many days from the first, and places the scenarios on its
days, reverts on the first and on the last day among them.

--scale N writes the benchmark corpus instead of --noise: N background
CloudTrail events in --files gzip S3 files (plus --azure-scale M Azure
records as Storage blobs) beside the scenarios, and reports events/s.
It streams every file, in any --order and --span, so a 90-day corpus of
millions of events needs no more memory than a small one.`,
		Example: `  revertwatch emulate -o emu/
  revertwatch emulate -o emu-seed7/ --seed 7 --noise 500 --scenarios 'aws-seed*,azure-seed3-*'
  revertwatch emulate -o emu-two-shapes/ --shapes cloudtrail-records,azure-storage
  revertwatch emulate -o emu-90d/ --order newest-first --span 90d --noise 5000
  revertwatch emulate -o bench-corpus/ --scale 100000 --azure-scale 10000 --shapes cloudtrail-records
  revertwatch emulate -o bench-90d/ --scale 100000 --span 90d --order newest-first
  revertwatch emulate --list`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if list {
				return listScenarios()
			}
			if out == "" {
				return &exitError{code: exitUsage, err: errors.New("-o/--output DIR is required")}
			}
			if noise < 0 || scale < 0 || azScale < 0 || files < 1 {
				return &exitError{code: exitUsage, err: errors.New("--noise, --scale and --azure-scale must not be negative, --files must be positive")}
			}
			o, err := emulate.ParseOrder(order)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--order: %w", err)}
			}
			var sp time.Duration
			if span != "" {
				if sp, err = emulate.ParseSpan(span); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("--span: %w", err)}
				}
			}
			if err := checkOut(out, force); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			opt := emulate.Options{Seed: seed, Noise: noise, Scenarios: splitList(scenarios), Order: o, Span: sp}
			sh, err := emulate.ParseShapes(splitList(shapes))
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			opt.Shapes = sh
			card, err := emulate.ParseCardinality(cardinality)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--cardinality: %w", err)}
			}
			if card != emulate.CardinalityNormal && scale == 0 && azScale == 0 {
				return &exitError{code: exitUsage, err: errors.New("--cardinality is a setting of the benchmark corpus: give --scale")}
			}
			if scale > 0 || azScale > 0 {
				st, err := emulate.WriteScale(out, emulate.ScaleOptions{Options: opt, Events: scale, AzureEvents: azScale, Files: files, Cardinality: card})
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				fmt.Fprintf(os.Stderr, "emulate: %d scenarios, %d background CloudTrail events in %d files, %d Azure records; %.1f MB of JSON in %s: %.0f events/s\n",
					len(st.Corpus.Truth.Scenarios), st.Events, files, st.AzureEvents, float64(st.Bytes)/1e6, st.Elapsed.Round(1e6), st.EventsPerSecond())
				return nil
			}
			c, err := emulate.Generate(opt)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if err := c.Write(out); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			events := 0
			for _, s := range c.Truth.Scenarios {
				for _, x := range s.Shapes {
					events += x.Events
				}
			}
			for _, x := range c.Truth.Background {
				events += x.Events
			}
			fmt.Fprintf(os.Stderr, "emulate: %d scenarios in %d shapes, %d files, %d events; ground truth in %s\n",
				len(c.Truth.Scenarios), len(c.Truth.Shapes), len(c.Files), events, strings.TrimSuffix(out, "/")+"/truth.json")
			return nil
		},
	}
	f := cmd.Flags()
	registerOutput(f, &out, "directory to write into (created; must be empty unless --force)")
	registerOutAlias(f, &out)
	f.Int64Var(&seed, "seed", 1, "seed for ids, times and noise: the same seed writes the same bytes")
	f.IntVar(&noise, "noise", 0, "background events per provider, from the documented mix of reads and writes")
	f.StringVar(&scenarios, "scenarios", "", "comma-separated scenario ids or globs (default all; see --list)")
	f.StringVar(&shapes, "shapes", "", "comma-separated shapes to write (default all)")
	f.StringVar(&order, "order", string(emulate.OrderOldestFirst), "record order in and across files: oldest-first, newest-first or shuffled")
	f.StringVar(&span, "span", "", "days the activity covers, up to 90d (e.g. 30d, 90d, 2160h; default 1d)")
	f.IntVar(&scale, "scale", 0, "write the benchmark corpus: this many background CloudTrail events")
	f.IntVar(&azScale, "azure-scale", 0, "with --scale: this many background Azure records (Storage export)")
	f.IntVar(&files, "files", 16, "with --scale: number of CloudTrail files")
	f.StringVar(&cardinality, "cardinality", string(emulate.CardinalityNormal), "with --scale: normal, or high (a million role session names, 65,536 instances and volumes per account and region, 10,000 Azure resource groups)")
	f.BoolVar(&list, "list", false, "list the scenarios and exit")
	f.BoolVar(&force, "force", false, "write into a directory that is not empty")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// checkOut refuses to mix a new corpus into old files.
func checkOut(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 && !force {
		return fmt.Errorf("%s is not empty: old files would mix with the new corpus (use --force to write anyway)", dir)
	}
	return nil
}

func listScenarios() error {
	w := tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tKIND\tPROVIDER\tEXPECTED RULES\tTITLE")
	for _, s := range emulate.Catalog() {
		rules := strings.Join(s.Expect, ",")
		if rules == "" {
			rules = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Kind, s.Provider, rules, s.Title)
	}
	return w.Flush()
}
