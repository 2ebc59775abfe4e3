package tc

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vishvananda/netlink"
)

// Shape is what sluice sets on a container's link: an uplink rate and a
// delay, each nil when unset.
type Shape struct {
	Mbit  *float64
	Delay *time.Duration
}

// ErrNetemUnavailable says the kernel has no netem qdisc, so a delay
// cannot be set.
var ErrNetemUnavailable = errors.New("the netem qdisc is not available in this kernel (sch_netem missing)")

// rootHandle is the handle sluice gives its root qdisc, 1:0 as tc writes it.
var rootHandle = netlink.MakeHandle(1, 0)

// maxDelay keeps the delay within netem's 32-bit tick count.
const maxDelay = 10 * time.Second

// RootQdisc computes the single root qdisc that gives link the shape s, or
// nil when s asks for nothing. A rate alone is a tbf (see TBFFor). A delay
// needs netem, which then also carries the rate, so that there is always
// one qdisc at the root and no chain of them to keep consistent.
func RootQdisc(link netlink.Link, s Shape) (netlink.Qdisc, error) {
	attrs := netlink.QdiscAttrs{LinkIndex: link.Attrs().Index, Handle: rootHandle, Parent: netlink.HANDLE_ROOT}
	var tbf *TBF
	if s.Mbit != nil {
		params, err := TBFFor(*s.Mbit, link.Attrs().MTU)
		if err != nil {
			return nil, err
		}
		tbf = &params
	}
	switch {
	case s.Delay == nil && tbf == nil:
		return nil, nil
	case s.Delay == nil:
		return &netlink.Tbf{
			QdiscAttrs: attrs,
			Rate:       tbf.RateBytes,
			Limit:      tbf.LimitBytes,
			// The kernel takes the bucket size as the time to send it
			// at the rate, in scheduler ticks.
			Buffer: netlink.Xmittime(tbf.RateBytes, tbf.BurstBytes),
		}, nil
	}
	if *s.Delay <= 0 || *s.Delay > maxDelay {
		return nil, fmt.Errorf("delay %v: must be in (0, %v]", *s.Delay, maxDelay)
	}
	netem := netlink.NetemQdiscAttrs{Latency: uint32(s.Delay.Microseconds())}
	if tbf != nil {
		netem.Rate64 = tbf.RateBytes
	}
	return netlink.NewNetem(attrs, netem), nil
}

// ShapeOf reads the shape sluice's root qdisc gives a link; a root qdisc
// sluice does not set (the default noqueue or pfifo_fast, or nil) shapes
// nothing.
func ShapeOf(root netlink.Qdisc) Shape {
	var s Shape
	switch q := root.(type) {
	case *netlink.Tbf:
		mbit := TBF{RateBytes: q.Rate}.Mbit()
		s.Mbit = &mbit
	case *netlink.Netem:
		if q.Latency > 0 {
			delay := time.Duration(math.Round(float64(q.Latency)/netlink.TickInUsec())) * time.Microsecond
			s.Delay = &delay
		}
		if q.Rate64 > 0 {
			mbit := TBF{RateBytes: q.Rate64}.Mbit()
			s.Mbit = &mbit
		}
	}
	return s
}

// ours says whether q is a root qdisc sluice may replace or delete.
func ours(q netlink.Qdisc) bool {
	if q == nil {
		return false
	}
	switch q.(type) {
	case *netlink.Tbf, *netlink.Netem:
		return q.Attrs().Handle == rootHandle
	}
	return false
}
