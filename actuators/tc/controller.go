package tc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/sluice-io/sluice/reconciler"
)

// PIDs finds the PID of a process in a container's network namespace. The
// Docker runtime implements it; to this package a container is just a PID
// whose network namespace holds the link to shape.
type PIDs interface {
	PID(ctx context.Context, c reconciler.Container) (int, error)
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

// Controller shapes a container's uplink with a tbf qdisc at the root of
// its interface. It implements reconciler.BandwidthController.
//
// Shaping the container's own eth0 limits what the container sends (its
// egress), which is the uplink: on the host side of the veth it would be
// the container's downlink instead.
type Controller struct {
	pids   PIDs
	link   string
	logger *slog.Logger
}

var _ reconciler.BandwidthController = (*Controller)(nil)

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

// Bandwidth reads container ctr's uplink limit in Mbit/s; nil means the
// root qdisc is not a tbf, so nothing sluice set limits the link.
func (c *Controller) Bandwidth(ctx context.Context, ctr reconciler.Container) (*float64, error) {
	var mbit *float64
	err := c.withLink(ctx, ctr, func(h *netlink.Handle, link netlink.Link) error {
		tbf, err := rootTBF(h, link)
		if err != nil || tbf == nil {
			return err
		}
		rate := TBF{RateBytes: tbf.Rate}.Mbit()
		mbit = &rate
		return nil
	})
	return mbit, err
}

// SetBandwidth limits container ctr's uplink to mbit Mbit/s, replacing the
// root qdisc with a tbf; nil removes sluice's tbf, which gives the link
// back its default qdisc.
func (c *Controller) SetBandwidth(ctx context.Context, ctr reconciler.Container, mbit *float64) error {
	return c.withLink(ctx, ctr, func(h *netlink.Handle, link netlink.Link) error {
		if mbit == nil {
			return c.removeTBF(ctx, ctr, h, link)
		}
		params, err := TBFFor(*mbit, link.Attrs().MTU)
		if err != nil {
			return fmt.Errorf("container %s: %w", ctr.ID, err)
		}
		if err := h.QdiscReplace(tbfQdisc(link, params)); err != nil {
			return fmt.Errorf("container %s: replace root qdisc of %s with tbf %+v: %w", ctr.ID, c.link, params, err)
		}
		c.logger.InfoContext(ctx, "uplink limited", "container", ctr.ID, "mbit", params.Mbit(),
			"burst_bytes", params.BurstBytes, "limit_bytes", params.LimitBytes)
		return nil
	})
}

func (c *Controller) removeTBF(ctx context.Context, ctr reconciler.Container, h *netlink.Handle, link netlink.Link) error {
	tbf, err := rootTBF(h, link)
	if err != nil || tbf == nil {
		return err
	}
	if err := h.QdiscDel(tbf); err != nil {
		return fmt.Errorf("container %s: delete root tbf of %s: %w", ctr.ID, c.link, err)
	}
	c.logger.InfoContext(ctx, "uplink unlimited", "container", ctr.ID)
	return nil
}

// tbfHandle is the handle sluice gives its root qdisc, 1:0 as tc writes it.
var tbfHandle = netlink.MakeHandle(1, 0)

func tbfQdisc(link netlink.Link, params TBF) *netlink.Tbf {
	return &netlink.Tbf{
		QdiscAttrs: netlink.QdiscAttrs{
			LinkIndex: link.Attrs().Index,
			Handle:    tbfHandle,
			Parent:    netlink.HANDLE_ROOT,
		},
		Rate:  params.RateBytes,
		Limit: params.LimitBytes,
		// The kernel takes the bucket size as the time to send it at
		// the rate, in scheduler ticks.
		Buffer: netlink.Xmittime(params.RateBytes, params.BurstBytes),
	}
}

// rootTBF returns the tbf at the root of link, or nil if the root qdisc is
// something else.
func rootTBF(h *netlink.Handle, link netlink.Link) (*netlink.Tbf, error) {
	qdiscs, err := h.QdiscList(link)
	if err != nil {
		return nil, fmt.Errorf("list qdiscs of %s: %w", link.Attrs().Name, err)
	}
	for _, q := range qdiscs {
		if tbf, ok := q.(*netlink.Tbf); ok && q.Attrs().Parent == netlink.HANDLE_ROOT {
			return tbf, nil
		}
	}
	return nil, nil
}

// withLink runs fn with a netlink handle bound to container ctr's network
// namespace and the link to shape there. The handle's sockets are opened
// inside the namespace once (netlink.NewHandleAt switches a locked thread
// in and back), so no goroutine of sluice's ever runs in the container's
// namespace.
func (c *Controller) withLink(ctx context.Context, ctr reconciler.Container, fn func(*netlink.Handle, netlink.Link) error) error {
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
