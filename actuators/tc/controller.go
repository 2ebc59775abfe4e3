package tc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/sluice-io/sluice/state"
)

// PIDs finds the PID of a process in a container's network namespace. The
// Docker runtime implements it; to this package a container is just a PID
// whose network namespace holds the link to shape.
type PIDs interface {
	PID(ctx context.Context, c state.Container) (int, error)
}

// DefaultLink is the interface Docker gives a container on a bridge.
const DefaultLink = "eth0"

// Config configures a Controller.
type Config struct {
	// PIDs finds a process in the container's network namespace.
	PIDs PIDs
	// Link is the interface to shape inside that namespace (DefaultLink).
	Link string
	// Logger receives a line per qdisc change.
	Logger *slog.Logger
}

// Controller shapes a container's uplink with one qdisc at the root of its
// interface: a tbf for a rate, a netem for a delay (with the rate, if any).
// It has the methods of the reconciler's BandwidthController.
//
// Shaping the container's own eth0 limits what the container sends (its
// egress), which is the uplink: on the host side of the veth it would be
// the container's downlink instead.
type Controller struct {
	pids   PIDs
	link   string
	logger *slog.Logger
}

// New returns a Controller for cfg.
func New(cfg Config) (*Controller, error) {
	if cfg.PIDs == nil {
		return nil, errors.New("tc controller: a PIDs lookup is required to find containers' namespaces")
	}
	if cfg.Link == "" {
		cfg.Link = DefaultLink
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Controller{pids: cfg.PIDs, link: cfg.Link, logger: cfg.Logger.With("actuator", "tc")}, nil
}

// Bandwidth reads container ctr's uplink limit in Mbit/s; nil means no
// qdisc of sluice's limits the link.
func (c *Controller) Bandwidth(ctx context.Context, ctr state.Container) (*float64, error) {
	s, err := c.Shape(ctx, ctr)
	return s.Mbit, err
}

// SetBandwidth limits container ctr's uplink to mbit Mbit/s; nil removes
// the limit and leaves any delay in place.
func (c *Controller) SetBandwidth(ctx context.Context, ctr state.Container, mbit *float64) error {
	return c.update(ctx, ctr, func(s *Shape) { s.Mbit = mbit })
}

// Delay reads the delay sluice added to container ctr's uplink.
func (c *Controller) Delay(ctx context.Context, ctr state.Container) (*time.Duration, error) {
	s, err := c.Shape(ctx, ctr)
	return s.Delay, err
}

// SetDelay delays every packet container ctr sends by delay; nil removes
// the delay and leaves any bandwidth limit in place. It needs netem and
// returns ErrNetemUnavailable, leaving the link as it was, when the kernel
// lacks it.
func (c *Controller) SetDelay(ctx context.Context, ctr state.Container, delay *time.Duration) error {
	return c.update(ctx, ctr, func(s *Shape) { s.Delay = delay })
}

// Shape reads the rate and delay sluice set on container ctr's link.
func (c *Controller) Shape(ctx context.Context, ctr state.Container) (Shape, error) {
	var s Shape
	err := c.withLink(ctx, ctr, func(h *netlink.Handle, link netlink.Link) error {
		root, err := rootQdisc(h, link)
		s = ShapeOf(root)
		return err
	})
	return s, err
}

// update reads the link's shape, changes it with change and puts the
// resulting root qdisc in place.
func (c *Controller) update(ctx context.Context, ctr state.Container, change func(*Shape)) error {
	return c.withLink(ctx, ctr, func(h *netlink.Handle, link netlink.Link) error {
		current, err := rootQdisc(h, link)
		if err != nil {
			return err
		}
		shape := ShapeOf(current)
		change(&shape)
		desired, err := RootQdisc(link, shape)
		if err != nil {
			return fmt.Errorf("container %s: %w", ctr.ID, err)
		}
		if err := c.replaceRoot(h, current, desired); err != nil {
			return fmt.Errorf("container %s, link %s: %w", ctr.ID, c.link, err)
		}
		c.logger.InfoContext(ctx, "uplink shaped", "container", ctr.ID, "qdisc", describe(desired))
		return nil
	})
}

// replaceRoot swaps the root qdisc current for desired. The kernel changes
// a qdisc in place only for the same kind, so going between tbf and netem
// deletes the old one first and puts it back if the new one is refused (a
// kernel without netem must not lose the bandwidth limit).
func (c *Controller) replaceRoot(h *netlink.Handle, current, desired netlink.Qdisc) error {
	if desired == nil {
		if !ours(current) {
			return nil
		}
		if err := h.QdiscDel(current); err != nil {
			return fmt.Errorf("delete root %s: %w", current.Type(), err)
		}
		return nil
	}
	if ours(current) && current.Type() != desired.Type() {
		if err := h.QdiscDel(current); err != nil {
			return fmt.Errorf("delete root %s: %w", current.Type(), err)
		}
	} else {
		current = nil
	}
	err := h.QdiscReplace(desired)
	if err == nil {
		return nil
	}
	if desired.Type() == "netem" && errors.Is(err, syscall.ENOENT) {
		err = ErrNetemUnavailable
	}
	err = fmt.Errorf("set root qdisc %s: %w", describe(desired), err)
	if current != nil {
		if restoreErr := h.QdiscReplace(current); restoreErr != nil {
			return errors.Join(err, fmt.Errorf("restore root %s: %w", current.Type(), restoreErr))
		}
	}
	return err
}

func describe(q netlink.Qdisc) string {
	switch q := q.(type) {
	case nil:
		return "none"
	case *netlink.Tbf:
		return fmt.Sprintf("tbf rate %d B/s buffer %d ticks limit %d B", q.Rate, q.Buffer, q.Limit)
	case *netlink.Netem:
		return fmt.Sprintf("netem latency %d ticks rate %d B/s", q.Latency, q.Rate64)
	}
	return q.Type()
}

// rootQdisc returns the qdisc at the root of link.
func rootQdisc(h *netlink.Handle, link netlink.Link) (netlink.Qdisc, error) {
	qdiscs, err := h.QdiscList(link)
	if err != nil {
		return nil, fmt.Errorf("list qdiscs of %s: %w", link.Attrs().Name, err)
	}
	for _, q := range qdiscs {
		if q.Attrs().Parent == netlink.HANDLE_ROOT {
			return q, nil
		}
	}
	return nil, nil
}

// withLink runs fn with a netlink handle bound to container ctr's network
// namespace and the link to shape there. The handle's sockets are opened
// inside the namespace once (netlink.NewHandleAt switches a locked thread
// in and back), so no goroutine of sluice's ever runs in the container's
// namespace.
func (c *Controller) withLink(ctx context.Context, ctr state.Container, fn func(*netlink.Handle, netlink.Link) error) error {
	pid, err := c.pids.PID(ctx, ctr)
	if err != nil {
		return fmt.Errorf("process of container %s: %w", ctr.ID, err)
	}
	if pid <= 0 {
		return fmt.Errorf("process of container %s: no PID (%d); is it running?", ctr.ID, pid)
	}
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("network namespace of container %s (process %d): %w", ctr.ID, pid, err)
	}
	defer ns.Close()
	if err := refuseOwnNamespace(ns); err != nil {
		return fmt.Errorf("container %s (process %d): %w", ctr.ID, pid, err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in the namespace of container %s (process %d): %w", ctr.ID, pid, err)
	}
	defer h.Close()
	link, err := h.LinkByName(c.link)
	if err != nil {
		return fmt.Errorf("link %s of container %s (process %d): %w", c.link, ctr.ID, pid, err)
	}
	return fn(h, link)
}

// refuseOwnNamespace stops sluice from shaping its own namespace's link,
// which is what a PID lookup that wrongly returned a host process (say, a
// container on the host network) would otherwise do.
func refuseOwnNamespace(ns netns.NsHandle) error {
	own, err := netns.GetFromPid(os.Getpid())
	if err != nil {
		return fmt.Errorf("own network namespace: %w", err)
	}
	defer own.Close()
	if ns.Equal(own) {
		return errors.New("it shares the agent's network namespace; refusing to shape the host's link")
	}
	return nil
}
