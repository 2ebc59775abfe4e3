package sensors

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sluice-io/sluice/internal/cgroupfs"
	"github.com/sluice-io/sluice/state"
)

// trackedContainer is one container between ticks: its open files, the
// schedstat file of each of its threads, and its previous reading.
type trackedContainer struct {
	runtimeID string
	pid       int
	procRoot  string
	files     containerFiles
	// useSchedstat is false on kernels without /proc/<tid>/schedstat
	// (no CONFIG_SCHED_INFO); PSI stands in for the wait then.
	useSchedstat bool
	threads      map[int]*threadWait
	// waitNanos accumulates the run-queue wait of every thread seen, so it
	// only grows although threads come and go.
	waitNanos uint64
	primed    bool
	last      containerCounters
	lastTime  time.Time
}

type threadWait struct {
	file *openFile
	last uint64
}

func newTrackedContainer(runtimeID string, pid int, procRoot string, files containerFiles) *trackedContainer {
	_, err := os.Stat(filepath.Join(procRoot, strconv.Itoa(pid), "schedstat"))
	return &trackedContainer{
		runtimeID:    runtimeID,
		pid:          pid,
		procRoot:     procRoot,
		files:        files,
		useSchedstat: err == nil || files.pressure == nil,
		threads:      map[int]*threadWait{},
	}
}

func (t *trackedContainer) read(iface string) (containerCounters, error) {
	counters, err := t.files.readCgroup()
	if err != nil {
		return counters, err
	}
	if t.useSchedstat && t.ranSinceLastRead(counters) {
		if err := t.readThreadWaits(); err != nil {
			return counters, err
		}
	}
	counters.waitNanos = t.waitNanos
	if t.files.netDev != nil {
		content, err := t.files.netDev.read()
		if err != nil {
			return counters, err
		}
		if counters.netRx, counters.netTx, _, err = parseNetDevInterface(content, iface); err != nil {
			return counters, fmt.Errorf("%s: %w", t.files.netDev.path, err)
		}
	}
	return counters, nil
}

// ranSinceLastRead says whether the container's threads need reading.
// A thread's schedstat wait grows only when the thread gets a CPU (the
// kernel adds a wait as it ends), and threads are born or exit only by
// running, so a container whose usage did not move since the last
// reading has neither new waits nor new threads: skipping its threads
// loses nothing, and spares an idle container one read per thread and the
// tasks listing. A wait that ended just after the usage was read is
// counted at the next reading.
func (t *trackedContainer) ranSinceLastRead(cur containerCounters) bool {
	return !t.primed || cur.cpu.UsageNanos != t.last.cpu.UsageNanos
}

// readThreadWaits adds the wait each thread accrued since the last tick.
// A thread that appeared since then counts in full, as it was born (or
// moved in) within the interval; on the container's first reading there
// is no interval, so threads only set their baseline. A thread that exits
// between two ticks takes its last partial interval with it.
func (t *trackedContainer) readThreadWaits() error {
	content, err := t.files.tasks.read()
	if err != nil {
		return err
	}
	tids, err := cgroupfs.ParseTaskList(content)
	if err != nil {
		return fmt.Errorf("%s: %w", t.files.tasks.path, err)
	}
	present := make(map[int]bool, len(tids))
	for _, tid := range tids {
		present[tid] = true
		wait, known, err := t.readThread(tid)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // exited between the listing and the read
			}
			return err
		}
		switch {
		case known && wait >= t.threads[tid].last:
			t.waitNanos += wait - t.threads[tid].last
		case !known && t.primed:
			t.waitNanos += wait
		}
		t.threads[tid].last = wait
	}
	for tid, thread := range t.threads {
		if !present[tid] {
			thread.file.close()
			delete(t.threads, tid)
		}
	}
	return nil
}

// readThread reads one thread's wait, opening its schedstat when new.
// A kept file of a thread that exited fails with ESRCH: the thread is
// dropped and reported as not existing.
func (t *trackedContainer) readThread(tid int) (wait uint64, known bool, err error) {
	thread, known := t.threads[tid]
	if !known {
		file, err := openKept(filepath.Join(t.procRoot, strconv.Itoa(tid), "schedstat"))
		if err != nil {
			return 0, false, fmt.Errorf("open schedstat of thread %d: %w", tid, err)
		}
		thread = &threadWait{file: file}
		t.threads[tid] = thread
	}
	content, err := thread.file.read()
	if err == nil {
		wait, err = parseSchedstat(content)
	}
	if err != nil {
		thread.file.close()
		delete(t.threads, tid)
		return 0, false, fmt.Errorf("thread %d: %w: %w", tid, fs.ErrNotExist, err)
	}
	return wait, known, nil
}

// advance turns a reading into an observation against the previous one
// and keeps it as the baseline for the next.
func (t *trackedContainer) advance(c state.Container, now time.Time, cur containerCounters) state.ContainerObservation {
	obs := state.ContainerObservation{
		ID: c.ID, App: c.App, Name: c.Name, GUID: c.GUID,
		CPUSet:        cur.cpuset,
		CPUQuotaCores: cur.quotaCores,
		CPUShares:     cur.shares,
		MemoryBytes:   cur.memoryBytes,
	}
	if t.primed {
		seconds := now.Sub(t.lastTime).Seconds()
		obs = withRates(obs, t.last, cur, seconds, t.useSchedstat)
	}
	t.last, t.lastTime, t.primed = cur, now, true
	return obs
}

// withRates is the analyzer: counter deltas over the interval. A counter
// that went backwards was reset (the cgroup was recreated) and counts from
// zero.
func withRates(obs state.ContainerObservation, prev, cur containerCounters, seconds float64, fromSchedstat bool) state.ContainerObservation {
	obs.NetRxBytes = counterDelta(prev.netRx, cur.netRx)
	obs.NetTxBytes = counterDelta(prev.netTx, cur.netTx)
	obs.ThrottledSeconds = float64(counterDelta(prev.cpu.ThrottledNanos, cur.cpu.ThrottledNanos)) / 1e9
	if seconds <= 0 {
		return obs
	}
	obs.CPUUsageCores = float64(counterDelta(prev.cpu.UsageNanos, cur.cpu.UsageNanos)) / 1e9 / seconds
	switch {
	case fromSchedstat:
		obs.RunQueueWaitCores = float64(counterDelta(prev.waitNanos, cur.waitNanos)) / 1e9 / seconds
	case cur.hasPressure && prev.hasPressure:
		obs.RunQueueWaitCores = float64(counterDelta(prev.pressureMicros, cur.pressureMicros)) / 1e6 / seconds
	}
	return obs
}

func counterDelta(prev, cur uint64) uint64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

func (t *trackedContainer) close() {
	t.files.close()
	for tid, thread := range t.threads {
		thread.file.close()
		delete(t.threads, tid)
	}
}
