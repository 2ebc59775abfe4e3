package main

import (
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/state"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// globalOptions are the flags every command shares.
type globalOptions struct {
	endpoints []string
	// tls is how every command's client secures its connections to etcd.
	tls      state.ClientTLS
	logLevel string
	stdout   io.Writer
	stderr   io.Writer
}

// defaultEndpoint is where `sluice agent` serves its embedded etcd.
const defaultEndpoint = "http://127.0.0.1:2379"

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	opts := &globalOptions{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "Keep latency-critical services fast next to noisy neighbours",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	flags := root.PersistentFlags()
	flags.StringSliceVar(&opts.endpoints, "etcd-endpoints", []string{defaultEndpoint},
		"etcd endpoints (the agent's embedded server by default)")
	flags.StringVar(&opts.tls.CACert, "etcd-cacert", "", "verify etcd's certificates with this CA bundle (https endpoints)")
	flags.StringVar(&opts.tls.Cert, "etcd-cert", "", "present this client certificate to etcd")
	flags.StringVar(&opts.tls.Key, "etcd-key", "", "the key of --etcd-cert")
	flags.StringVar(&opts.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.AddCommand(
		newVersionCommand(opts),
		newAgentCommand(opts),
		newApplyCommand(opts),
		newGetCommand(opts),
		newDescribeCommand(opts),
		newDeleteCommand(opts),
		newNodeCommand(opts),
		newBenchCommand(opts),
		newEtcdCommand(opts),
		newExperimentCommand(opts),
		newSimCommand(opts),
		newReplayCommand(opts),
		newRecordCommand(opts),
		newPolicyCommand(opts),
		newLogsCommand(opts),
		newTracesCommand(opts),
	)
	return root
}

// groupCommand is a command that only groups others: run alone it prints
// its help, and with an unknown subcommand it fails, so that a typo in a
// script does not pass as success.
func groupCommand(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
}

func (o *globalOptions) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(o.logLevel))); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(o.stderr, &slog.HandlerOptions{Level: level}))
}

// quietLogger is the logger of batch commands (experiments, replays): their
// progress lines say what happens, so the control loop's own info logs are
// shown only when --log-level asks for them.
func (o *globalOptions) quietLogger(cmd *cobra.Command) *slog.Logger {
	if !cmd.Flags().Changed("log-level") {
		o.logLevel = "warn"
	}
	return o.logger()
}

func newVersionCommand(opts *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of sluice",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return render(opts.stdout, output, map[string]string{"version": version}, func(t *table) {
				t.row(version)
			})
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}
