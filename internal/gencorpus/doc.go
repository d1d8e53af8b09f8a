// Package gencorpus writes large synthetic audit-log corpora for
// benchmarks: CloudTrail S3 delivery files ({"Records":[...]}, gzip, under
// the AWSLogs/... key layout) and Azure Activity Log storage exports
// (PT1H.json JSON lines under the insights-activity-logs/... blob layout).
//
// The records follow the shapes of telemetry.md (§1.1, §2, §3.1): a
// realistic mix of read and write EC2, EBS, IAM, S3 and STS calls from
// users, roles and AWS services, with occasional errors and dry runs, and
// Azure operations in their Start/Accept/Success phases. Values are
// invented. Output is a function of the seed only, so runs can be
// compared.
package gencorpus
