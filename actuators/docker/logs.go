package docker

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/sluice-io/sluice/state"
)

// Logs copies a container's stdout and stderr to w; with follow it keeps
// copying until the container stops or ctx ends, and an ended ctx is not an
// error (it is how a follower stops).
func (r *Runtime) Logs(ctx context.Context, c state.Container, follow bool, w io.Writer) error {
	return r.TailLogs(ctx, c, -1, follow, w)
}

// TailLogs is Logs starting at the last lines lines of the output; a
// negative lines starts at the beginning.
func (r *Runtime) TailLogs(ctx context.Context, c state.Container, lines int, follow bool, w io.Writer) error {
	tail := "all"
	if lines >= 0 {
		tail = strconv.Itoa(lines)
	}
	rc, err := r.cli.ContainerLogs(ctx, c.RuntimeID, client.ContainerLogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Follow:     follow,
		Tail:       tail,
	})
	if err != nil {
		return fmt.Errorf("read the logs of container %s (%s): %w", c.ID, state.ShortRuntimeID(c.RuntimeID), err)
	}
	defer rc.Close()
	// sluice never gives its containers a TTY, so the stream is always
	// multiplexed: 8-byte frame headers naming stdout or stderr.
	if _, err := stdcopy.StdCopy(w, w, rc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("copy the logs of container %s (%s): %w", c.ID, state.ShortRuntimeID(c.RuntimeID), err)
	}
	return nil
}

// AppContainers lists the app's containers on this engine, or only the
// one named only (when not empty); it is an error to find none.
func (r *Runtime) AppContainers(ctx context.Context, app, only string) ([]state.Container, error) {
	all, err := r.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []state.Container
	for _, c := range all {
		if c.App == app && (only == "" || c.Name == only) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("app %s: no container%s on this host's Docker engine", app, forContainer(only))
	}
	return out, nil
}

func forContainer(name string) string {
	if name == "" {
		return ""
	}
	return " named " + name
}
