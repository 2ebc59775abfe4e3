# Burst: lend a latency-critical container CPU quota above the limit its
# spec sets while its own quota throttles it and the node has CPU to
# spare, and give the quota back once it is calm. Operators set a limit
# near a service's mean demand; its peaks then wait for the next CFS
# period, and no static limit serves both the peaks and the node's other
# tenants. docs/policies.md documents the rule and its safety bound.
package sluice.shield

# The latency-critical containers the rule concerns, mapped to the limit
# their spec sets: observed, with a spec quota. A container without a spec
# quota has no limit to lend beyond, and keeps its settings.
burst_limits := {id: c.spec.cpu_quota_millicores |
	some id in input.classes["latency-critical"]
	c := input.containers[id]
	c.observed
	c.spec.cpu_quota_millicores
}

# The CPU the node may lend: its CPUs less what is committed elsewhere (the
# latency-critical containers' use within their limits, and host processes
# outside any container) less burst_node_headroom_millicores. Best-effort
# containers count as spare: beside a latency-critical container they run
# at the lowest weight and yield their CPU to it. A lent container's use
# above its limit is the lent CPU itself, so it is not committed elsewhere:
# counting it would take back the quota it runs on.
burst_spare := max([0, ((input.node.cpus * 1000) - committed) - t.burst_node_headroom_millicores]) if {
	count(burst_limits) > 0
	usages := [c.usage_millicores | some c in input.containers]
	within := [min([c.usage_millicores, object.get(burst_limits, id, c.usage_millicores)]) |
		some id in input.classes["latency-critical"]
		c := input.containers[id]
	]
	host := max([0, input.observation.host.usage_millicores - sum(usages)])
	committed := sum(within) + host
}

# The quota each container would want, where that is above its limit.
# Throttled (at least burst_throttled_min_us over the tick), it wants its
# demand, usage + the time its quota held it back, plus
# burst_headroom_millicores, and at least burst_step_millicores more than
# it had: a throttled container's usage is its quota, so the throttled time
# is what says how much more it wanted. Calm, it keeps what it had while it
# uses it (less the headroom), and returns to its limit as its use falls:
# at once when its use fits within the limit. Never more than its CPUs.
# Run-queue wait does not count: it is time
# spent behind other tasks, which no quota gives back (beside a hog, a
# server at rest waits as long as it runs).
burst_wanted := {id: wanted |
	some id, limit in burst_limits
	c := input.containers[id]
	had := object.get(input, ["previous", "containers", id, "cpu_quota_millicores"], limit)
	demand := c.usage_millicores + burst_throttled_millicores(c.throttled_us)
	wanted := min([count(c.cpus) * 1000, burst_want(c.throttled_us, had, demand, limit)])
	wanted > limit
}

burst_want(throttled_us, had, demand, limit) := max([had + t.burst_step_millicores, demand + t.burst_headroom_millicores]) if {
	throttled_us >= t.burst_throttled_min_us
} else := limit if {
	demand <= limit
} else := min([had, demand + t.burst_headroom_millicores])

# Time held back by the quota over the tick, as millicores: µs per second
# of the interval, over a thousand. An interval of no length says nothing
# (and a division by it would fail the whole decision).
burst_throttled_millicores(throttled_us) := floor(throttled_us / (interval * 1000)) if {
	interval := input.observation.interval_seconds
	interval > 0
} else := 0

# The quotas lent: the spare split evenly among the containers that want
# more than their limit, so that the lent quota together never exceeds it.
# On a tick no container wants more, the common one, there are none.
bursts := {} if {
	count(burst_wanted) == 0
} else := {id: {"cpu_quota_millicores": quota} |
	some id, wanted in burst_wanted
	quota := min([wanted, burst_limits[id] + share])
	quota > burst_limits[id]
} if {
	share := floor(burst_spare / count(burst_wanted))
}

# Containers whose quota was lent on the previous tick and is back at its
# limit now.
burst_returned := {id |
	some id, limit in burst_limits
	object.get(input, ["previous", "containers", id, "cpu_quota_millicores"], limit) > limit
	not bursts[id]
}

reasons contains {
	"rule": "burst",
	"container": id,
	"message": sprintf(
		"burst: throttled %d us, usage %d, wait %d millicores; quota %d of limit %d millicores, %d lent of %d spare on the node",
		[c.throttled_us, c.usage_millicores, c.wait_millicores, b.cpu_quota_millicores, limit, b.cpu_quota_millicores - limit, burst_spare],
	),
	"values": {
		"throttled_us": c.throttled_us,
		"usage_millicores": c.usage_millicores,
		"wait_millicores": c.wait_millicores,
		"quota_millicores": b.cpu_quota_millicores,
		"limit_millicores": limit,
		"spare_millicores": burst_spare,
	},
} if {
	some id, b in bursts
	c := input.containers[id]
	limit := burst_limits[id]
}

reasons contains {
	"rule": "return",
	"container": id,
	"message": sprintf("return: usage %d millicores, quota back to its limit %d millicores", [c.usage_millicores, limit]),
	"values": {"usage_millicores": c.usage_millicores, "limit_millicores": limit},
} if {
	some id in burst_returned
	c := input.containers[id]
	limit := burst_limits[id]
}
