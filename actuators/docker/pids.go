package docker

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// pidCache remembers the main process of each running container the
// actuators asked about. Every reconcile pass reads each container's CPU
// and bandwidth settings, and each read needs the PID; asking the engine
// each time cost an inspect per container and actuator per pass, which
// the engine serves on whatever CPU is free, the victim's too. A PID is
// reused only after its process exits, so a cached one is believed while
// /proc still shows it in the container's cgroup; else the engine is
// asked again.
type pidCache struct {
	procRoot string
	mu       sync.Mutex
	pids     map[string]int
}

func newPIDCache(procRoot string) *pidCache {
	return &pidCache{procRoot: procRoot, pids: map[string]int{}}
}

// lookup returns the cached PID of the container, if it is still its.
func (p *pidCache) lookup(runtimeID string) (int, bool) {
	p.mu.Lock()
	pid, ok := p.pids[runtimeID]
	p.mu.Unlock()
	if !ok {
		return 0, false
	}
	if !p.inContainer(pid, runtimeID) {
		p.forget(runtimeID)
		return 0, false
	}
	return pid, true
}

func (p *pidCache) store(runtimeID string, pid int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pids[runtimeID] = pid
}

func (p *pidCache) forget(runtimeID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pids, runtimeID)
}

// inContainer says whether process pid lives in the container's cgroup,
// whose path names the container's ID under either cgroup driver
// (/docker/<id> or docker-<id>.scope).
func (p *pidCache) inContainer(pid int, runtimeID string) bool {
	content, err := os.ReadFile(p.procRoot + "/" + strconv.Itoa(pid) + "/cgroup")
	return err == nil && runtimeID != "" && strings.Contains(string(content), runtimeID)
}

// keepOnly drops the containers the engine no longer lists, so the cache
// stays as large as the node.
func (p *pidCache) keepOnly(listed map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for runtimeID := range p.pids {
		if !listed[runtimeID] {
			delete(p.pids, runtimeID)
		}
	}
}
