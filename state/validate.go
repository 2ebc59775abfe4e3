package state

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of an app spec. Every list and string a spec holds has one, so no
// spec, however it was written, costs a reader more than these allow; the
// docs (docs/keyspace.md) list them.
const (
	// MaxSpecBytes bounds the stored value of a spec, checked before it is
	// decoded.
	MaxSpecBytes = 64 << 10
	// MaxContainers bounds the containers of one app.
	MaxContainers = 32
	// MaxListItems bounds each list or map of a container: cmd, env, ports.
	MaxListItems = 256
	// MaxStringBytes bounds every string of a spec: the image, each cmd
	// argument, each env name and value, a demand's kind and file.
	MaxStringBytes = 4096
	// MaxCPUs bounds the CPU numbers of a cpuset and the CPUs of a quota
	// when the node's own count is unknown: Linux's largest NR_CPUS.
	MaxCPUs = 8192
	// MinCPUQuotaCores is the smallest CPU quota the kernel takes: 1 ms of
	// CPU time per 100 ms period (cpu.cfs_quota_us ≥ 1000), the period
	// sluice writes with every quota.
	MinCPUQuotaCores = 0.01
	// MinMemoryBytes is the smallest memory limit Docker accepts (6 MiB).
	MinMemoryBytes = 6 << 20
	// MaxNetMbit bounds a bandwidth limit when the node's own link speed is
	// unknown: 1 Tbit/s.
	MaxNetMbit = 1_000_000
	// maxDemand bounds each number of a simulated demand (cores, seconds).
	maxDemand = 1_000_000
	// MaxDemandPoints bounds an inline demand trace (DemandSpec.Points), so
	// that a spec that carries one stays within MaxSpecBytes and its JSON
	// within Linux's 128 KiB limit on one environment string.
	MaxDemandPoints = 2048
	// maxRequestCPUMs bounds a request's CPU time at a minute: beyond that a
	// "request" is a batch job, and the latency model has nothing to say.
	maxRequestCPUMs = 60_000
)

var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate reports the first thing wrong with the spec, naming the field,
// without knowing its node: values are held to the static bounds above.
func (a AppSpec) Validate() error { return a.ValidateFor(Capacity{}) }

// ValidateFor reports the first thing wrong with the spec on a node of the
// given capacity, naming the field: the checks of Validate, and values
// within what the node can give (a quota up to its CPUs, a cpuset of CPUs
// it has, memory and bandwidth up to its own). A zero field of capacity is
// unknown, and the static bound stands in for it. It is the one check of an
// app spec: `sluice apply` runs it before writing, the fold of every reader
// when it reads.
func (a AppSpec) ValidateFor(capacity Capacity) error {
	if !namePattern.MatchString(a.Name) {
		return fmt.Errorf("name %q: must be 1-63 lowercase letters, digits or '-'", a.Name)
	}
	switch {
	case len(a.Containers) == 0:
		return fmt.Errorf("app %s: containers: at least one is required", a.Name)
	case len(a.Containers) > MaxContainers:
		return fmt.Errorf("app %s: containers: %d, over the maximum of %d", a.Name, len(a.Containers), MaxContainers)
	}
	seen := map[string]bool{}
	for i, c := range a.Containers {
		where := fmt.Sprintf("app %s: containers[%d]", a.Name, i)
		if err := c.validate(capacity); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if seen[c.Name] {
			return fmt.Errorf("%s: name %q is used twice", where, c.Name)
		}
		seen[c.Name] = true
	}
	for i, c := range a.Containers {
		if c.Parent != "" && !seen[c.Parent] {
			return fmt.Errorf("app %s: containers[%d]: parent %q is not a container of this app", a.Name, i, c.Parent)
		}
	}
	return nil
}

func (c ContainerSpec) validate(capacity Capacity) error {
	if !namePattern.MatchString(c.Name) {
		return fmt.Errorf("name %q: must be 1-63 lowercase letters, digits or '-'", c.Name)
	}
	if c.Class != LatencyCritical && c.Class != BestEffort {
		return fmt.Errorf("%s: class %q: must be %q or %q", c.Name, c.Class, LatencyCritical, BestEffort)
	}
	checks := []func() error{
		c.validateStrings,
		c.validatePorts,
		func() error { return validateCPUSet(c.CPUSet, capacity.CPUs) },
		func() error { return c.Resources.validate(capacity) },
		c.validateDemand,
		c.validateSLO,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	return nil
}

// validateStrings bounds the free-form strings and lists: a NUL cannot
// reach a process's arguments or environment, and an image reference has
// no control characters.
func (c ContainerSpec) validateStrings() error {
	switch {
	case c.Image == "":
		return fmt.Errorf("image is required")
	case len(c.Cmd) > MaxListItems:
		return fmt.Errorf("cmd: %d arguments, over the maximum of %d", len(c.Cmd), MaxListItems)
	case len(c.Env) > MaxListItems:
		return fmt.Errorf("env: %d variables, over the maximum of %d", len(c.Env), MaxListItems)
	}
	if err := checkString("image", c.Image, strings.ContainsFunc(c.Image, unicode.IsControl)); err != nil {
		return err
	}
	for i, arg := range c.Cmd {
		if err := checkString(fmt.Sprintf("cmd[%d]", i), arg, strings.ContainsRune(arg, 0)); err != nil {
			return err
		}
	}
	for _, name := range SortedKeys(c.Env) {
		value := c.Env[name]
		badName := name == "" || strings.ContainsAny(name, "=\x00")
		if err := checkString(fmt.Sprintf("env name %q", name), name, badName); err != nil {
			return err
		}
		if err := checkString(fmt.Sprintf("env[%q]", name), value, strings.ContainsRune(value, 0)); err != nil {
			return err
		}
	}
	return nil
}

// checkString bounds one string; bad says it holds what its field forbids.
func checkString(field, s string, bad bool) error {
	switch {
	case len(s) > MaxStringBytes:
		return fmt.Errorf("%s: %d bytes, over the maximum of %d", field, len(s), MaxStringBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s: not valid UTF-8", field)
	case bad:
		return fmt.Errorf("%s: %q holds a character it may not", field, s)
	}
	return nil
}

func (c ContainerSpec) validatePorts() error {
	if len(c.Ports) > MaxListItems {
		return fmt.Errorf("ports: %d, over the maximum of %d", len(c.Ports), MaxListItems)
	}
	for i, p := range c.Ports {
		switch {
		case p.Container < 1 || p.Container > 65535:
			return fmt.Errorf("ports[%d].container %d: must be in [1, 65535]", i, p.Container)
		case p.Host < 0 || p.Host > 65535:
			return fmt.Errorf("ports[%d].host %d: must be in [0, 65535] (0: any)", i, p.Host)
		}
		switch p.Protocol {
		case "", "tcp", "udp", "sctp":
		default:
			return fmt.Errorf("ports[%d].protocol %q: must be tcp, udp or sctp", i, p.Protocol)
		}
	}
	return nil
}

// validateCPUSet checks a cpuset against the CPUs the node has (cpus; 0:
// unknown, MaxCPUs stands in).
func validateCPUSet(list string, cpus int) error {
	if list == "" {
		return nil
	}
	parsed, err := ParseCPUSet(list)
	if err != nil {
		return fmt.Errorf("cpuset: %w", err)
	}
	if cpus > 0 && parsed[len(parsed)-1] >= cpus {
		return fmt.Errorf("cpuset %q: CPU %d is not on the node, which has CPUs 0-%d", list, parsed[len(parsed)-1], cpus-1)
	}
	return nil
}

// validate holds each resource to the kernel's and Docker's limits and to
// the node's capacity. Every bound is checked on the float before anything
// converts it to an integer.
func (r Resources) validate(capacity Capacity) error {
	cpus := float64(MaxCPUs)
	if capacity.CPUs > 0 {
		cpus = float64(capacity.CPUs)
	}
	if q := r.CPUQuotaCores; q != nil && !(*q >= MinCPUQuotaCores && *q <= cpus) {
		return fmt.Errorf("resources.cpu_quota_cores %g: must be in [%g, %g] (the kernel's minimum, the node's CPUs)", *q, MinCPUQuotaCores, cpus)
	}
	if s := r.CPUShares; s != nil && (*s < 2 || *s > 262144) {
		return fmt.Errorf("resources.cpu_shares %d: must be in [2, 262144]", *s)
	}
	memory := int64(math.MaxInt64)
	if capacity.MemoryBytes > 0 {
		memory = capacity.MemoryBytes
	}
	if m := r.MemoryBytes; m != nil && (*m < MinMemoryBytes || *m > memory) {
		return fmt.Errorf("resources.memory_bytes %d: must be in [%d, %d] (Docker's minimum, the node's memory)", *m, MinMemoryBytes, memory)
	}
	link := float64(MaxNetMbit)
	if capacity.NetMbit > 0 {
		link = capacity.NetMbit
	}
	if n := r.NetMbit; n != nil && !(*n > 0 && *n <= link) {
		return fmt.Errorf("resources.net_mbit %g: must be in (0, %g] (the node's link)", *n, link)
	}
	return nil
}

func (c ContainerSpec) validateDemand() error {
	d := c.Demand
	if d == nil {
		return nil
	}
	if err := checkString("demand.kind", d.Kind, false); err != nil {
		return err
	}
	if err := checkString("demand.file", d.File, false); err != nil {
		return err
	}
	type number struct {
		name  string
		value float64
	}
	numbers := []number{
		{"base", d.Base}, {"amplitude", d.Amplitude}, {"period_seconds", d.PeriodSeconds}, {"value", d.Value},
		{"step_at_seconds", d.StepAtSeconds}, {"step_to", d.StepTo},
	}
	if len(d.Points) > MaxDemandPoints {
		return fmt.Errorf("demand.points: at most %d, got %d", MaxDemandPoints, len(d.Points))
	}
	for i, p := range d.Points {
		numbers = append(numbers, number{fmt.Sprintf("points[%d][0]", i), p[0]}, number{fmt.Sprintf("points[%d][1]", i), p[1]})
	}
	for _, n := range numbers {
		if !(math.Abs(n.value) <= maxDemand) {
			return fmt.Errorf("demand.%s %g: must be within ±%g", n.name, n.value, float64(maxDemand))
		}
	}
	if !(d.RequestCPUMs >= 0 && d.RequestCPUMs <= maxRequestCPUMs) {
		return fmt.Errorf("demand.request_cpu_ms must be in [0, %g] (0: the default), got %g", float64(maxRequestCPUMs), d.RequestCPUMs)
	}
	return nil
}

func (c ContainerSpec) validateSLO() error {
	if c.SLO == nil {
		return nil
	}
	if c.Class != LatencyCritical {
		return fmt.Errorf("slo: only a %s container has one, this one is %s", LatencyCritical, c.Class)
	}
	if p99 := c.SLO.LatencyP99Ms; !(p99 > 0) || math.IsInf(p99, 0) {
		return fmt.Errorf("slo.latency_p99_ms must be a finite number > 0, got %g", p99)
	}
	return nil
}
