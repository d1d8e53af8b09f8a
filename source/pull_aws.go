package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/smithy-go"
)

// AWSRegions are the regions of the aws partition that `pull aws` asks
// when no --region is given (LookupEvents answers for one region a call).
// A region the account has not enabled answers that the token is not
// valid; it is skipped with a note.
var AWSRegions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1",
	"eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
	"il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1",
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

// LookupEventsInterval is AWS's documented rate for LookupEvents: 2
// requests per second per account and region.
const LookupEventsInterval = 500 * time.Millisecond

// PullAWSOptions say what `pull aws` asks.
type PullAWSOptions struct {
	Since, Until time.Time // Until zero: now
	Regions      []string  // nil: AWSRegions
	Endpoint     string    // CloudTrail endpoint override (AWS_ENDPOINT_URL_CLOUDTRAIL works too)
	Jobs         int       // regions asked at once; 0 means 4
	Pacing       Pacing
	Progress     Progress     // may be nil; called one at a time
	Note         func(string) // a line for the user: an entry skipped, a region not enabled; may be nil; called one at a time
}

// PullResult is what a pull did, by scope and in total.
type PullResult struct {
	Total   PullStats
	Scopes  []string // asked, in order
	Skipped []string // not enabled for the account (AWS opt-in regions)
	Failed  []string // failed, each reported in the error
}

// PullAWS asks CloudTrail's LookupEvents API, in every region, for the
// management events between Since and Until, page by page (50 events,
// NextToken), paced to the documented rate and retrying throttled calls
// after a backoff, and writes each event's CloudTrailEvent (the full
// record, as in a log file) to w. LookupEvents answers newest first;
// hunt does not mind the order. A failing region does not stop the
// others: the error names each failed region.
func PullAWS(ctx context.Context, cfg aws.Config, o PullAWSOptions, w *RecordWriter) (PullResult, error) {
	regions := o.Regions
	if len(regions) == 0 {
		regions = AWSRegions
	}
	regions = dedupe(regions)
	until := o.Until
	if until.IsZero() {
		until = time.Now().UTC()
	}
	var note func(string)
	o.Progress, note = serialized(o.Progress, o.Note)
	var ids seen
	res := PullResult{Scopes: regions}
	var errs []error
	res.Total, errs = eachScope(regions, o.Jobs, func(region string) (PullStats, error) {
		return pullRegion(ctx, cfg, o, region, o.Since, until, &ids, w, note)
	})
	denied := make([]bool, len(regions))
	for i, err := range errs {
		if err != nil {
			denied[i] = notEnabled(err)
			errs[i] = &ScopeError{Scope: "region " + regions[i], Err: lookupError(err)}
		}
	}
	var failed []error
	for i, err := range errs {
		switch {
		case err == nil:
		case denied[i]:
			res.Skipped = append(res.Skipped, regions[i])
		default:
			res.Failed = append(res.Failed, regions[i])
			failed = append(failed, err)
		}
	}
	if len(res.Skipped) == len(regions) {
		// No region took the credentials: they are wrong, not the regions.
		res.Failed, res.Skipped = res.Skipped, nil
		return res, joinScopes("region", errs)
	}
	for _, r := range res.Skipped {
		note(fmt.Sprintf("pull aws: region %s: not enabled for this account (the credentials are not valid there); skipped", r))
	}
	return res, joinScopes("region", failed)
}

func pullRegion(ctx context.Context, cfg aws.Config, o PullAWSOptions, region string, since, until time.Time, ids *seen, w *RecordWriter, note func(string)) (PullStats, error) {
	client := cloudtrail.NewFromConfig(cfg, func(co *cloudtrail.Options) {
		co.Region = region
		co.HTTPClient = OwnBodies(co.HTTPClient)
		if o.Endpoint != "" {
			co.BaseEndpoint = aws.String(o.Endpoint)
		}
	})
	in := &cloudtrail.LookupEventsInput{EndTime: aws.Time(until), MaxResults: aws.Int32(50)}
	if !since.IsZero() {
		in.StartTime = aws.Time(since)
	}
	var st PullStats
	pc := &pacer{every: o.Pacing.Interval}
	done := func() {
		if o.Progress != nil {
			o.Progress(region, st, true)
		}
	}
	defer done()
	for {
		var out *cloudtrail.LookupEventsOutput
		err := o.Pacing.call(ctx, pc, &st, awsThrottled, func() error {
			var err error
			out, err = client.LookupEvents(ctx, in)
			return err
		})
		if err != nil {
			return st, err
		}
		st.Calls++
		recs := make([][]byte, 0, len(out.Events))
		for _, e := range out.Events {
			raw := aws.ToString(e.CloudTrailEvent)
			rec, err := compactObject([]byte(raw))
			if raw == "" || err != nil {
				st.Rejected++
				why := "no CloudTrailEvent"
				if raw != "" {
					why = "a CloudTrailEvent that is not a JSON object: " + err.Error()
				}
				note(fmt.Sprintf("pull aws: region %s: event %s (%s at %s) has %s; skipped",
					region, aws.ToString(e.EventId), aws.ToString(e.EventName), aws.ToTime(e.EventTime).UTC().Format(time.RFC3339), why))
				continue
			}
			if !ids.first(aws.ToString(e.EventId)) {
				st.Duplicates++
				continue
			}
			recs = append(recs, rec)
		}
		if err := w.page(recs, &st, o.Progress, region); err != nil {
			return st, err
		}
		if aws.ToString(out.NextToken) == "" {
			return st, nil
		}
		in.NextToken = out.NextToken
	}
}

// awsThrottled says whether err is a throttling answer the SDK's retries
// did not get past.
func awsThrottled(err error) bool {
	var qe ratelimit.QuotaExceededError
	if errors.As(err, &qe) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
			"RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "SlowDown":
			return true
		}
	}
	return false
}

// notEnabled says whether err is the answer of a region the account has
// not enabled (an opt-in region): the credentials are unknown there.
func notEnabled(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "UnrecognizedClientException", "InvalidClientTokenId":
			return true
		}
	}
	return false
}

// lookupError says what a failed LookupEvents call means for the user.
func lookupError(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDeniedException", "AccessDenied":
			return fmt.Errorf("LookupEvents: access denied (the credentials need cloudtrail:LookupEvents): %s", ae.ErrorMessage())
		}
		return fmt.Errorf("LookupEvents: %s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	if strings.Contains(err.Error(), "get credentials") {
		return fmt.Errorf("LookupEvents: no AWS credentials (set AWS_PROFILE or --aws-profile, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run aws sso login): %w", err)
	}
	return fmt.Errorf("LookupEvents: %w", err)
}
