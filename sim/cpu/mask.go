package cpu

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// MaxCPUs is the largest node the model handles: a Mask is one machine word.
const MaxCPUs = 64

// Mask is a set of CPUs, bit k for CPU k. The zero Mask in a Task means
// "every CPU of the node", as an empty cpuset does for a container.
type Mask uint64

// AllCPUs returns the mask of a node with n CPUs.
func AllCPUs(n int) Mask {
	if n >= MaxCPUs {
		return ^Mask(0)
	}
	return Mask(1)<<n - 1
}

// MaskOf builds a mask from CPU numbers, as state.ParseCPUSet returns them.
func MaskOf(cpus []int) (Mask, error) {
	var m Mask
	for _, c := range cpus {
		if c < 0 || c >= MaxCPUs {
			return 0, fmt.Errorf("cpu %d: the model handles CPUs 0-%d", c, MaxCPUs-1)
		}
		m |= 1 << c
	}
	return m, nil
}

// Count is the number of CPUs in the mask.
func (m Mask) Count() int { return bits.OnesCount64(uint64(m)) }

// Contains reports whether every CPU of o is in m.
func (m Mask) Contains(o Mask) bool { return o&^m == 0 }

// String renders the mask in cpuset list syntax ("0-2,5"); "" when empty.
func (m Mask) String() string {
	var parts []string
	for cpu := 0; cpu < MaxCPUs; {
		if m&(1<<cpu) == 0 {
			cpu++
			continue
		}
		last := cpu
		for last+1 < MaxCPUs && m&(1<<(last+1)) != 0 {
			last++
		}
		if last == cpu {
			parts = append(parts, strconv.Itoa(cpu))
		} else {
			parts = append(parts, strconv.Itoa(cpu)+"-"+strconv.Itoa(last))
		}
		cpu = last + 1
	}
	return strings.Join(parts, ",")
}
