package tc

import (
	"fmt"
	"math"
	"time"
)

// Shaping parameters, documented in docs/actuators.md.
const (
	// burstTime is how much traffic at the full rate one burst may carry.
	// 10 ms keeps short-term overshoot small while leaving room for the
	// timer to refill the bucket between dequeues.
	burstTime = 10 * time.Millisecond
	// queueTime is how long a packet may wait in the queue before tbf drops
	// it, like tc's "latency 50ms": the queue holds rate*queueTime bytes
	// beyond the burst. A sender faster than the rate sees drops and backs
	// off instead of an ever-growing delay.
	queueTime = 50 * time.Millisecond
	// ethernetHeader is added to the MTU because tbf measures whole
	// frames: a frame larger than the burst could never be sent.
	ethernetHeader = 14
	// minMbit is the slowest rate accepted. Below it a burst of two frames
	// lasts seconds and the bucket's size in kernel ticks risks overflow.
	minMbit = 0.01
)

// TBF is the token bucket that shapes a link to a rate.
type TBF struct {
	// RateBytes is the rate in bytes per second.
	RateBytes uint64
	// BurstBytes is the bucket size: what may leave back to back.
	BurstBytes uint32
	// LimitBytes is how many bytes may wait in the queue, burst included.
	LimitBytes uint32
}

// TBFFor computes the token bucket for a rate of mbit Mbit/s (10^6 bits/s)
// on a link whose MTU is mtu bytes. The burst is burstTime at the rate but
// at least two full frames; the limit adds queueTime at the rate to the
// burst.
func TBFFor(mbit float64, mtu int) (TBF, error) {
	if math.IsNaN(mbit) || math.IsInf(mbit, 0) || mbit < minMbit {
		return TBF{}, fmt.Errorf("bandwidth %v Mbit/s: must be a number of at least %v", mbit, minMbit)
	}
	if mtu <= 0 {
		return TBF{}, fmt.Errorf("link MTU %d: must be positive", mtu)
	}
	rate := uint64(math.Round(mbit * 1e6 / 8))
	burst := max(bytesIn(rate, burstTime), 2*uint64(mtu+ethernetHeader))
	limit := burst + bytesIn(rate, queueTime)
	if limit > math.MaxUint32 {
		return TBF{}, fmt.Errorf("bandwidth %v Mbit/s: queue of %d bytes does not fit tbf's 32-bit limit", mbit, limit)
	}
	return TBF{RateBytes: rate, BurstBytes: uint32(burst), LimitBytes: uint32(limit)}, nil
}

func bytesIn(rate uint64, d time.Duration) uint64 {
	return uint64(math.Ceil(float64(rate) * d.Seconds()))
}

// Mbit is the rate in Mbit/s.
func (t TBF) Mbit() float64 { return float64(t.RateBytes) * 8 / 1e6 }
