package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/policies"
)

func newPolicyCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Check and test Rego policies"}
	var output string
	test := &cobra.Command{
		Use:   "test [DIR]",
		Short: "Compile a policy directory and run its _test.rego tests",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "policies"
			if len(args) == 1 {
				dir = args[0]
			}
			bundle, err := policies.LoadDir(dir)
			if err != nil {
				return err
			}
			if _, err := policies.NewEngine(cmd.Context(), bundle); err != nil {
				return err
			}
			results, err := policies.RunTests(cmd.Context(), dir)
			if err != nil {
				return err
			}
			failed := 0
			for _, r := range results {
				if !r.Pass && !r.Skip {
					failed++
				}
			}
			if err := render(opts.stdout, output, results, func(t *table) {
				for _, r := range results {
					t.row(r.String())
				}
				t.row(fmt.Sprintf("%d passed, %d failed", len(results)-failed, failed))
			}); err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d policy tests failed", failed, len(results))
			}
			return nil
		},
	}
	addOutputFlag(test, &output)
	cmd.AddCommand(test)
	return cmd
}
