package main

import (
	"bufio"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/revertwatch/revertwatch/emulate"
	"github.com/revertwatch/revertwatch/validate"
)

// exitValidation is validate's exit code when a scenario was missed or
// falsely alarmed.
const exitValidation = 1

func newValidateCmd() *cobra.Command {
	var cfg configFlag
	var format, scenarios, shapes, span string
	var seed int64
	var noise int
	var lateness time.Duration
	cmd := &cobra.Command{
		Use:   "validate [flags]",
		Short: "Emulate every scenario in every log shape and record order, hunt it, and print the coverage matrix",
		Long: `validate needs no input. It emulates, in memory, the seed's four revert tests,
the native restore APIs, the benign look-alikes of the seed's false-positive
list and the near-misses, in every delivery shape (CloudTrail S3 files,
EventBridge, JSON lines; Azure Storage, Event Hub, REST, Log Analytics). It
hunts each scenario in each shape with the built-in detections at rest (and
--config, when given) and compares what fired with the ground truth.

Every cell is hunted three times, with its records oldest first, newest first
and shuffled (from --seed), in and across files. The findings (rule, id and
the uids of every evidence event) must be byte for byte the same in all three:
a cell where they differ fails, and the differences are listed under the
matrix.

Exit 0 when every revert is detected, nothing else fires and no order changes
anything; 1 on any miss, false alarm or order difference. A tuning entry that
hides a real revert counts as a miss.`,
		Example: `  revertwatch validate
  revertwatch validate --config examples/revertwatch.yaml
  revertwatch validate --span 90d
  revertwatch validate --scenarios 'aws-seed*' --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return &exitError{code: exitUsage, err: fmt.Errorf("unknown --format %q (want table or json)", format)}
			}
			conf, err := cfg.load(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			opt := validate.Options{Config: conf, Lateness: lateness,
				Emulate: emulate.Options{Seed: seed, Noise: noise, Scenarios: splitList(scenarios)}}
			if span != "" {
				if opt.Emulate.Span, err = emulate.ParseSpan(span); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("--span: %w", err)}
				}
			}
			if shapes != "" {
				if opt.Emulate.Shapes, err = emulate.ParseShapes(splitList(shapes)); err != nil {
					return &exitError{code: exitUsage, err: err}
				}
			}
			rep, err := validate.Run(cmd.Context(), opt)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			if format == "json" {
				err = rep.WriteJSON(w)
			} else {
				err = rep.WriteTable(w)
			}
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if !rep.OK() {
				return &exitError{code: exitValidation}
			}
			return nil
		},
	}
	f := cmd.Flags()
	cfg.register(f)
	f.StringVar(&format, "format", "table", "output: table or json")
	f.StringVar(&scenarios, "scenarios", "", "comma-separated scenario ids or globs (default all)")
	f.StringVar(&shapes, "shapes", "", "comma-separated shapes (default all)")
	f.Int64Var(&seed, "seed", 1, "emulation seed")
	f.IntVar(&noise, "noise", 200, "background events per provider, hunted on their own: they must stay silent")
	f.StringVar(&span, "span", "", "days the emulated activity covers, up to 90d (default 1d)")
	f.DurationVar(&lateness, "lateness", 0, "allowed lateness (default 15m, or the config's; a hunt at rest has no late events)")
	return cmd
}
