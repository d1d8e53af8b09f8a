//go:build duckdb

// Command duckdb-seed is the benchmark's peer (bench/run.sh, DUCKDB=1): the
// seed query as DuckDB SQL over the same corpus, read with
// read_json_objects as a user of DuckDB or Tailpipe would. It reads the
// corpus's two bulk shapes, CloudTrail S3 files (*.json.gz) and Azure
// Storage exports (PT1H.json), which hold all but a few hundred of its
// events, and prints the rows.
//
// Build it with the cgo DuckDB driver:
//
//	CGO_ENABLED=1 go build -tags duckdb -o duckdb-seed ./bench/duckdb
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

// seedSQL is the seed query of anchors.md and content/ (t1578.004-sumo):
// risky compute operations counted by account, caller and resource group.
// The caller and resource group follow revertwatch's seed aliases.
const seedSQL = `
WITH ct AS (
  SELECT unnest(json_extract(json, '$.Records[*]')) AS rec
  FROM read_json_objects('%[1]s/**/*.json.gz', format = 'auto', maximum_object_size = 1073741824)
), aws AS (
  SELECT rec->>'recipientAccountId' AS host,
         coalesce(nullif(rec->'userIdentity'->>'arn', ''), nullif(rec->'userIdentity'->>'invokedBy', ''), rec->'userIdentity'->>'principalId') AS caller,
         rec->>'awsRegion' AS rg,
         rec->>'eventName' AS op
  FROM ct
), az AS (
  SELECT lower(coalesce(json->>'subscriptionId', regexp_extract(json->>'resourceId', '(?i)/subscriptions/([^/]+)', 1))) AS host,
         coalesce(nullif(json->>'caller', ''),
                  nullif(json_extract_string(json, '$.identity.claims."http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"'), ''),
                  nullif(json_extract_string(json, '$.identity.claims.upn'), ''),
                  nullif(json_extract_string(json, '$.identity.claims."http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"'), ''),
                  nullif(json_extract_string(json, '$.identity.claims.unique_name'), ''),
                  nullif(json_extract_string(json, '$.identity.claims.appid'), ''),
                  json_extract_string(json, '$.identity.claims."http://schemas.microsoft.com/identity/claims/objectidentifier"')) AS caller,
         coalesce(json->>'resourceGroupName', regexp_extract(json->>'resourceId', '(?i)/resourceGroups/([^/]+)', 1)) AS rg,
         json->>'operationName' AS op
  FROM read_json_objects('%[2]s/**/PT1H.json', format = 'newline_delimited')
), ev AS (
  SELECT * FROM aws UNION ALL SELECT * FROM az
), risky AS (
  SELECT *, CASE WHEN regexp_matches(op, '(?i)(delete|destroy|terminate)') THEN 'High'
                 WHEN regexp_matches(op, '(?i)(snapshot|create)') THEN 'Medium' ELSE 'Low' END AS risk
  FROM ev
  WHERE regexp_matches(op, '(?i)(snapshot|virtualMachine|instance|compute|create|delete|modify)')
)
SELECT host AS _sourceHost, caller, rg AS resourceGroup, count(*) AS OpCount,
       list(DISTINCT op ORDER BY op) AS Operations, list(DISTINCT risk ORDER BY risk) AS RiskLevels
FROM risky
WHERE risk IN ('High', 'Medium') AND caller != 'azure-backup' AND NOT regexp_matches(caller, '(?i)automation')
GROUP BY ALL
ORDER BY OpCount DESC, _sourceHost, caller, resourceGroup`

func main() {
	threads := flag.Int("threads", 0, "DuckDB threads (0: DuckDB's default)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: duckdb-seed [-threads N] CORPUS-DIR")
		os.Exit(2)
	}
	dir, err := filepath.Abs(flag.Arg(0))
	if err != nil {
		fail(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		fail(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if *threads > 0 {
		if _, err := db.Exec(fmt.Sprintf("SET threads TO %d", *threads)); err != nil {
			fail(err)
		}
	}
	start := time.Now()
	q := fmt.Sprintf(seedSQL, filepath.ToSlash(filepath.Join(dir, "cloudtrail-records")), filepath.ToSlash(filepath.Join(dir, "azure-storage")))
	rows, err := db.Query(q)
	if err != nil {
		fail(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var host, caller, rg sql.NullString
		var count int64
		var ops, risks any
		if err := rows.Scan(&host, &caller, &rg, &count, &ops, &risks); err != nil {
			fail(err)
		}
		fmt.Printf("%s\t%s\t%s\t%d\t%v\t%v\n", host.String, caller.String, rg.String, count, ops, risks)
		n++
	}
	if err := rows.Err(); err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "duckdb: %d rows in %s\n", n, time.Since(start).Round(time.Millisecond))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "duckdb-seed:", strings.TrimSpace(err.Error()))
	os.Exit(1)
}
