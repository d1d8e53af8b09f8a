// Package platforms writes revertwatch's revert detections for other
// engines: Sigma rules (ExportSigma: detection rules and temporal_ordered
// correlations), the seed's Sumo Logic query and per-detection Sumo queries,
// Splunk SPL, Microsoft Sentinel KQL over AzureActivity and AWSCloudTrail,
// Elastic EQL sequences, and SQL for DuckDB over raw CloudTrail and Azure
// Activity Log JSON. It also holds the hunting queries, written in
// revertwatch's own query language.
//
// Every export is generated from the same rule data as the sequence
// engine (content.Reverts): the steps, their operations, conditions and
// join keys, with the record path of each key per operation read from
// the field catalog (content/catalog) and written in each platform's
// syntax. Each platform uses its sequence construct where it has one (EQL sequence …
// by with maxspan, KQL joins with time bounds, SQL self-joins) and says in
// the query's header what it loses where it has none.
package platforms
