package tc

import (
	"strconv"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

var testLink = &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Index: 7, MTU: 1500, Name: "eth0"}}

func delay(d time.Duration) *time.Duration { return &d }

func TestRootQdiscForARateIsATBF(t *testing.T) {
	q, err := RootQdisc(testLink, Shape{Mbit: ptr(20)})
	if err != nil {
		t.Fatal(err)
	}
	tbf, ok := q.(*netlink.Tbf)
	if !ok {
		t.Fatalf("root qdisc for a rate is %T, want a tbf", q)
	}
	attrs := tbf.Attrs()
	if attrs.LinkIndex != 7 || attrs.Parent != netlink.HANDLE_ROOT || attrs.Handle != netlink.MakeHandle(1, 0) {
		t.Errorf("tbf attrs = %+v, want link 7, root parent, handle 1:0", attrs)
	}
	if tbf.Rate != 2500000 || tbf.Limit != 150000 || tbf.Buffer != netlink.Xmittime(2500000, 25000) {
		t.Errorf("tbf = rate %d limit %d buffer %d, want the TBFFor(20, 1500) bucket", tbf.Rate, tbf.Limit, tbf.Buffer)
	}
}

func TestRootQdiscForADelayIsANetemCarryingTheRate(t *testing.T) {
	q, err := RootQdisc(testLink, Shape{Mbit: ptr(20), Delay: delay(10 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	netem, ok := q.(*netlink.Netem)
	if !ok {
		t.Fatalf("root qdisc for a delay is %T, want netem", q)
	}
	if netem.Rate64 != 2500000 || netem.Attrs().Handle != netlink.MakeHandle(1, 0) {
		t.Errorf("netem rate %d handle %x, want 2500000 and 1:0", netem.Rate64, netem.Attrs().Handle)
	}
}

func TestShapeRoundTrips(t *testing.T) {
	for _, want := range []Shape{
		{},
		{Mbit: ptr(20)},
		{Mbit: ptr(0.5)},
		{Delay: delay(10 * time.Millisecond)},
		{Mbit: ptr(100), Delay: delay(250 * time.Millisecond)},
	} {
		q, err := RootQdisc(testLink, want)
		if err != nil {
			t.Fatal(err)
		}
		got := ShapeOf(q)
		if !sameFloat(got.Mbit, want.Mbit) || !sameDuration(got.Delay, want.Delay) {
			t.Errorf("ShapeOf(RootQdisc(%s)) = %s", show(want), show(got))
		}
	}
}

func TestShapeOfForeignQdiscsIsEmpty(t *testing.T) {
	for _, q := range []netlink.Qdisc{nil, &netlink.GenericQdisc{QdiscType: "noqueue"}, &netlink.PfifoFast{}} {
		if s := ShapeOf(q); s.Mbit != nil || s.Delay != nil {
			t.Errorf("ShapeOf(%T) = %s, want nothing", q, show(s))
		}
	}
}

func TestRootQdiscRejectsBadDelays(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Millisecond, time.Minute} {
		if q, err := RootQdisc(testLink, Shape{Delay: delay(d)}); err == nil {
			t.Errorf("RootQdisc accepted a delay of %v: %+v", d, q)
		}
	}
}

func sameFloat(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func sameDuration(a, b *time.Duration) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func show(s Shape) string {
	mbit, d := "none", "none"
	if s.Mbit != nil {
		mbit = strconv.FormatFloat(*s.Mbit, 'g', -1, 64)
	}
	if s.Delay != nil {
		d = s.Delay.String()
	}
	return "{Mbit: " + mbit + ", Delay: " + d + "}"
}
