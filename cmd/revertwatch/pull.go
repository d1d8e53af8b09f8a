package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/revertwatch/revertwatch/source"
)

// azureCredential is the credential `pull azure` asks with: azidentity's
// default chain (environment, workload identity, managed identity, Azure
// CLI, ...). Tests replace it.
var azureCredential = func() (azcore.TokenCredential, error) {
	return azidentity.NewDefaultAzureCredential(nil)
}

// pullFlags are the flags both pull subcommands have.
type pullFlags struct {
	output   string
	since    string
	until    string
	endpoint string
	rate     float64
	jobs     int
	quiet    bool
}

func (f *pullFlags) register(fs *pflag.FlagSet, defaultRate float64, scope string) {
	fs.StringVarP(&f.output, "output", "o", "", "write the records to this file (default stdout); a name ending .gz is gzip-compressed")
	fs.StringVar(&f.since, "since", "90d", "from this time: RFC 3339, a date (UTC) or a duration back from now (7d, 12h); the APIs keep 90 days")
	fs.StringVar(&f.until, "until", "", "up to this time (default now; a date means the end of that day); same forms as --since")
	fs.Float64Var(&f.rate, "rate", defaultRate, "list calls per second per "+scope+" (0: unpaced, for a local emulator)")
	fs.IntVarP(&f.jobs, "jobs", "j", 4, scope+"s asked at once")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress lines on stderr (the closing summary stays)")
}

func (f *pullFlags) window() (since, until time.Time, err error) {
	now := time.Now()
	if since, err = source.ParseTime(f.since, now, false); err != nil {
		return since, until, &exitError{code: exitUsage, err: fmt.Errorf("--since: %w", err)}
	}
	if until, err = source.ParseTime(f.until, now, true); err != nil {
		return since, until, &exitError{code: exitUsage, err: fmt.Errorf("--until: %w", err)}
	}
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		return since, until, &exitError{code: exitUsage, err: fmt.Errorf("--until %s is not after --since %s", until.Format(time.RFC3339), since.Format(time.RFC3339))}
	}
	if f.rate < 0 || f.jobs < 1 {
		return since, until, &exitError{code: exitUsage, err: fmt.Errorf("--rate must not be negative and --jobs must be positive")}
	}
	return since, until, nil
}

func (f *pullFlags) pacing() source.Pacing {
	if f.rate == 0 {
		return source.Pacing{}
	}
	return source.Pacing{Interval: time.Duration(float64(time.Second) / f.rate)}
}

// progress prints a line per scope at most every two seconds and when the
// scope is done, unless quiet.
func (f *pullFlags) progress(w io.Writer, kind string) source.Progress {
	if f.quiet {
		return nil
	}
	var (
		mu   sync.Mutex
		last = map[string]time.Time{}
	)
	return func(scope string, s source.PullStats, done bool) {
		mu.Lock()
		defer mu.Unlock()
		if (!done && time.Since(last[scope]) < 2*time.Second) || s.Calls == 0 {
			return // (a scope that never answered is in the error)
		}
		last[scope] = time.Now()
		state := "…"
		if done {
			state = "done"
		}
		fmt.Fprintf(w, "pull %s: %s: %d records in %d calls %s\n", kind, scope, s.Records, s.Calls, state)
	}
}

// run opens the output, pulls, closes the output and turns the result into
// the exit code.
func (f *pullFlags) run(cmd *cobra.Command, kind, key, scope string, pull func(ctx context.Context, w *source.RecordWriter, note func(string)) (source.PullResult, error)) error {
	stderr := cmd.ErrOrStderr()
	out := cmd.OutOrStdout()
	var file *os.File
	if f.output != "" && f.output != "-" {
		if err := os.MkdirAll(filepath.Dir(f.output), 0o755); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		var err error
		if file, err = os.Create(f.output); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		out = file
	}
	w := source.NewRecordWriter(out, key, strings.HasSuffix(f.output, ".gz"))
	res, err := pull(cmd.Context(), w, func(s string) { fmt.Fprintln(stderr, s) })
	werr := w.Close()
	if file != nil {
		if cerr := file.Close(); werr == nil {
			werr = cerr
		}
	}
	if werr != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("writing %s: %w", orStdout(f.output), werr)}
	}
	t := res.Total
	fmt.Fprintf(stderr, "pull %s: %d records written to %s from %d %s in %d calls (%d throttled and retried, %d repeated, %d entries rejected)",
		kind, t.Records, orStdout(f.output), len(res.Scopes)-len(res.Failed)-len(res.Skipped), scope+"(s)", t.Calls, t.Throttled, t.Duplicates, t.Rejected)
	if len(res.Skipped) > 0 {
		fmt.Fprintf(stderr, "; %d not enabled", len(res.Skipped))
	}
	if len(res.Failed) > 0 {
		fmt.Fprintf(stderr, "; %d failed", len(res.Failed))
	}
	fmt.Fprintln(stderr)
	switch {
	case err != nil && len(res.Failed)+len(res.Skipped) == len(res.Scopes):
		return &exitError{code: exitUsage, err: err}
	case err != nil:
		return &exitError{code: exitRejected, err: err}
	case t.Rejected > 0:
		return &exitError{code: exitRejected}
	}
	return nil
}

func orStdout(path string) string {
	if path == "" || path == "-" {
		return "stdout"
	}
	return path
}

func newPullCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pull",
		Short: "Fetch records from a provider's list API into a file hunt reads",
		Long: `pull asks a provider's own list API for the audit records of a time window and
writes them to a file (or stdout) that hunt, query and cat read as they read
any log file. It is what a responder without a trail or a diagnostic setting
has: CloudTrail's event history (LookupEvents, management events of the last
90 days) and Azure's Activity Log (90 days).`,
	}
	cmd.AddCommand(newPullAWSCmd(), newPullAzureCmd())
	return cmd
}

func newPullAWSCmd() *cobra.Command {
	var (
		f       pullFlags
		regions []string
		aws     source.AWSOptions
	)
	cmd := &cobra.Command{
		Use:   "aws [flags]",
		Short: "CloudTrail event history (LookupEvents) of every region, as a CloudTrail log file",
		Long: `pull aws asks CloudTrail's LookupEvents API, in every region (or those of
--region), for the management events of the window, page by page, paced to
AWS's documented rate (2 calls per second per region) and retrying throttled
calls with a growing backoff. Each event's full record (its CloudTrailEvent)
is written into one {"Records":[…]} document, the shape of a CloudTrail log
file. Regions are asked several at a time, and records are written in the
order they arrive (each region newest first): hunt's answer does not depend
on the order. A region the account has not enabled is skipped with a note.

Credentials come from the standard AWS chain (environment, shared config and
profiles, SSO, web identity, container and instance roles), narrowed by
--aws-profile. AWS_ENDPOINT_URL_CLOUDTRAIL or --endpoint point it elsewhere.`,
		Example: `  revertwatch pull aws --since 7d -o pulled/aws-7d.json.gz
  revertwatch pull aws --since 2026-03-01 --until 2026-03-08 --region us-east-1 --region eu-west-1 -o pulled/march.json
  revertwatch hunt pulled/aws-7d.json.gz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			since, until, err := f.window()
			if err != nil {
				return err
			}
			cfg, err := source.LoadAWS(cmd.Context(), aws)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			return f.run(cmd, "aws", "Records", "region", func(ctx context.Context, w *source.RecordWriter, note func(string)) (source.PullResult, error) {
				return source.PullAWS(ctx, cfg, source.PullAWSOptions{
					Since: since, Until: until, Regions: regions, Endpoint: f.endpoint, Jobs: f.jobs,
					Pacing: f.pacing(), Progress: f.progress(cmd.ErrOrStderr(), "aws"), Note: note,
				}, w)
			})
		},
	}
	f.register(cmd.Flags(), 2, "region")
	cmd.Flags().StringSliceVar(&regions, "region", nil, "ask only this region (repeatable; default every region of the aws partition)")
	cmd.Flags().StringVar(&aws.Profile, "aws-profile", "", "AWS shared-config profile (default the standard chain)")
	cmd.Flags().StringVar(&aws.Region, "aws-region", "", "region of the credentials' configuration (the calls go to each region asked)")
	cmd.Flags().StringVar(&f.endpoint, "endpoint", "", "CloudTrail endpoint URL (also AWS_ENDPOINT_URL_CLOUDTRAIL)")
	return cmd
}

func newPullAzureCmd() *cobra.Command {
	var (
		f    pullFlags
		subs []string
	)
	cmd := &cobra.Command{
		Use:   "azure --subscription ID [flags]",
		Short: "Azure Activity Log of subscriptions (the list API), as a REST document",
		Long: `pull azure asks the Activity Log list API (Activity Logs - List) of each
--subscription for the events of the window, following nextLink page by page
and retrying throttled (429) calls after their Retry-After, and writes the
events as the service sent them into one {"value":[…]} document, the REST
shape hunt reads. An event the service lists twice is written once.

Credentials come from azidentity's default chain (environment variables,
workload identity, managed identity, az login, ...); the identity needs
Microsoft.Insights/eventtypes/values/read (Reader or Monitoring Reader).
--endpoint names another Azure Resource Manager endpoint (a sovereign cloud).`,
		Example: `  revertwatch pull azure --since 30d --subscription 0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d -o pulled/activity.json
  revertwatch hunt pulled/activity.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(subs) == 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("pull azure needs --subscription ID (repeatable)")}
			}
			since, until, err := f.window()
			if err != nil {
				return err
			}
			cred, err := azureCredential()
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("no Azure credentials (az login, AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, or a managed identity): %w", err)}
			}
			return f.run(cmd, "azure", "value", "subscription", func(ctx context.Context, w *source.RecordWriter, note func(string)) (source.PullResult, error) {
				return source.PullAzure(ctx, cred, source.PullAzureOptions{
					Since: since, Until: until, Subscriptions: subs, Endpoint: f.endpoint, Jobs: f.jobs,
					Pacing: f.pacing(), Progress: f.progress(cmd.ErrOrStderr(), "azure"), Note: note,
				}, w)
			})
		},
	}
	f.register(cmd.Flags(), 0, "subscription")
	cmd.Flags().StringSliceVar(&subs, "subscription", nil, "Azure subscription id to ask (repeatable)")
	cmd.Flags().StringVar(&f.endpoint, "endpoint", "", "Azure Resource Manager endpoint URL (default https://management.azure.com)")
	return cmd
}
