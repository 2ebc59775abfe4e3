package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/ui"
)

func newExperimentViewCommand(opts *globalOptions) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "view [DIR]",
		Short: "Serve the experiment runs under DIR (default out) as web pages: summaries, plots, runs side by side",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "out"
			if len(args) == 1 {
				dir = args[0]
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return viewExperiments(ctx, opts, dir, addr)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:9465", "where to serve the pages")
	return cmd
}

func viewExperiments(ctx context.Context, opts *globalOptions, dir, addr string) error {
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fmt.Errorf("experiment view: %s is not a directory of experiment runs", dir)
	}
	handler, err := ui.NewExperiments(dir)
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("experiment view: %w", err)
	}
	server := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		server.Shutdown(shutdown)
	}()
	fmt.Fprintf(opts.stdout, "serving the runs under %s on http://%s/\n", dir, listener.Addr())
	if err := server.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
