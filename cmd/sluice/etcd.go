package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/internal/etcdcluster"
	"github.com/sluice-io/sluice/state"
)

func newEtcdCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "etcd",
		Short: "Run etcd for sluice",
	}
	cmd.AddCommand(newEtcdClusterCommand(opts))
	return cmd
}

type etcdClusterOptions struct {
	members  int
	dataDir  string
	portBase int
	binary   string
	tls      state.ServerTLS
}

func newEtcdClusterCommand(opts *globalOptions) *cobra.Command {
	eo := &etcdClusterOptions{}
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run an etcd cluster on this machine, one process per member, until interrupted",
		Long: `Runs a cluster of the etcd server sluice is built against, each member a
process with its own data dir under --data-dir and two loopback ports from
--port-base on (member i: client port base+2i, peer port base+2i+1). Run it
again on the same --data-dir and ports to bring the cluster back with its
data. Agents join it with --etcd-endpoints (printed at start).

This is for trying sluice with several nodes on one machine, and for its
tests and benchmarks: a cluster across machines is set up with etcd's own
tools (docs/cluster.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEtcdCluster(cmd, opts, eo)
		},
	}
	flags := cmd.Flags()
	flags.IntVar(&eo.members, "members", 3, "how many members: 3 tolerates one down")
	flags.StringVar(&eo.dataDir, "data-dir", ".sluice-etcd", "where the members keep their data and logs")
	flags.IntVar(&eo.portBase, "port-base", 22379, "the first member's client port; the others follow")
	flags.StringVar(&eo.binary, "etcd-binary", "", "the etcd server to run (default: build the one pinned in sluice's go.mod with `go tool`, which needs the go command and sluice's source)")
	flags.StringVar(&eo.tls.Cert, "etcd-server-cert", "", "serve clients and peers over https with this certificate (it must allow client auth too: members present it to each other)")
	flags.StringVar(&eo.tls.Key, "etcd-server-key", "", "the key of --etcd-server-cert")
	flags.StringVar(&eo.tls.ClientCA, "etcd-client-ca", "", "accept only clients and peers whose certificate this CA signed (required with --etcd-server-cert)")
	return cmd
}

func runEtcdCluster(cmd *cobra.Command, opts *globalOptions, eo *etcdClusterOptions) error {
	if eo.members < 1 {
		return fmt.Errorf("--members %d: want at least 1", eo.members)
	}
	binary := eo.binary
	if binary == "" {
		var err error
		fmt.Fprintln(opts.stderr, "building the pinned etcd server (go tool -n "+etcdcluster.ServerTool+")")
		if binary, err = etcdcluster.ServerBinary(); err != nil {
			return err
		}
	}
	ports := make([]int, 2*eo.members)
	for i := range ports {
		ports[i] = eo.portBase + i
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cluster, err := etcdcluster.Start(etcdcluster.Config{Binary: binary, Dir: eo.dataDir, Members: eo.members, Ports: ports, TLS: eo.tls})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "etcd cluster of %d members serving; data and logs in %s\n", eo.members, eo.dataDir)
	fmt.Fprintf(opts.stdout, "--etcd-endpoints %s\n", strings.Join(cluster.Endpoints(), ","))
	// The members compact on the default history's schedule; this cluster
	// is sluice's own, so it defragments them too, presenting the members'
	// certificate when they require one.
	cli, err := state.Dial(state.ClientConfig{Endpoints: cluster.Endpoints(), TLS: memberClientTLS(eo.tls)})
	if err != nil {
		return errors.Join(err, cluster.Close())
	}
	defer cli.Close()
	state.DefragmentMembers(ctx, cli, cluster.Endpoints(), state.DefaultRetention.CheckEvery(), opts.logger())
	fmt.Fprintln(opts.stderr, "stopping the members")
	return cluster.Close()
}

// memberClientTLS is a client that presents the members' own certificate.
func memberClientTLS(tls state.ServerTLS) state.ClientTLS {
	if tls.Empty() {
		return state.ClientTLS{}
	}
	return state.ClientTLS{CACert: tls.ClientCA, Cert: tls.Cert, Key: tls.Key}
}
