# Shield latency-critical (LC) containers from best-effort (BE) neighbours
# that share their CPUs, by capping the neighbours' CFS quota to what the
# victim leaves free. docs/policies.md documents the input and output.
#
# The cap is work-conserving: it follows the victim's demand tick by tick,
# so the neighbours get every core-second the victim does not want, less a
# small headroom. It is not a static partition.
package sluice.shield

t := data.thresholds

# ---------------------------------------------------------------------------
# Who shares CPUs with whom.

lc[id] := c if {
	some id, c in input.containers
	c.class == "latency-critical"
}

be[id] := c if {
	some id, c in input.containers
	c.class == "best-effort"
}

# neighbours[victim] is the set of BE containers whose CPUs overlap the victim's.
neighbours[victim] := ids if {
	some victim, v in lc
	ids := {id | some id, b in be; overlaps(v.cpus, b.cpus)}
	count(ids) > 0
}

overlaps(a, b) if {
	some cpu in a
	cpu in b
}

# shared_cpus[victim] are the victim's CPUs that some neighbour may run on;
# their count is the capacity the victim and its neighbours divide.
shared_cpus[victim] := {cpu |
	some cpu in lc[victim].cpus
	some id in ids
	cpu in be[id].cpus
} if {
	some victim, ids in neighbours
}

capacity[victim] := count(shared_cpus[victim])

# ---------------------------------------------------------------------------
# What the victim wants.

carried := object.get(input, ["previous", "carry", "victims"], {})

# wanted_now is the CPU the victim wanted over the last interval: what it
# ran plus what it waited for, or what its work queue says it needs to keep
# up with arrivals and drain its backlog, whichever is larger.
wanted_now[victim] := max([run_demand, work_demand(v)]) if {
	some victim, v in lc
	neighbours[victim]
	run_demand := v.usage_cores + v.wait_cores
}

work_demand(v) := (v.work.arrived / input.observation.interval_seconds) + (v.work.backlog / t.drain_seconds) if {
	input.observation.interval_seconds > 0
} else := 0

# rise is how much the demand grew since the previous tick. A cap decided
# now takes effect one tick later; adding the rise keeps a rising demand
# from being starved by that lag.
rise(victim) := max([0, wanted_now[victim] - carried[victim].wanted_now]) if {
	carried[victim].wanted_now
} else := 0

wanted[victim] := now + (t.trend_gain * rise(victim)) if {
	some victim, now in wanted_now
}

satisfaction(v) := v.usage_cores / (v.usage_cores + v.wait_cores) if {
	v.usage_cores + v.wait_cores > 0
} else := 1

backlog(v) := object.get(v, ["work", "backlog"], 0)

# ---------------------------------------------------------------------------
# Pressure: a set of named signals per victim, so that further signals (a
# latency SLO) add a rule here and change nothing else.

pressure[victim] contains "satisfaction" if {
	some victim in object.keys(wanted_now)
	v := lc[victim]
	satisfaction(v) < t.satisfaction_min
	v.wait_cores >= t.wait_min_cores
}

pressure[victim] contains "backlog" if {
	some victim in object.keys(wanted_now)
	backlog(lc[victim]) > t.backlog_max_cpu_seconds
}

under_pressure(victim) if count(pressure[victim]) > 0

# A neighbour contends when it presses against the cap in force: the kernel
# throttled it, or it used all of its quota.
contending(victim) if {
	some id in neighbours[victim]
	be_contends(be[id])
}

be_contends(b) if b.throttled_seconds > 0

be_contends(b) if b.usage_cores >= b.quota_cores - t.contend_margin_cores

# ---------------------------------------------------------------------------
# The budget: the CPU all of a victim's neighbours may use on the shared
# CPUs together. tracking is what the victim leaves free.

tracking[victim] := max([t.min_quota_cores, capacity[victim] - wanted[victim] - t.headroom_cores]) if {
	some victim in object.keys(wanted_now)
}

shielding(victim) if carried[victim].budget

budget[victim] := {"rule": "shield", "cores": tracking[victim]} if {
	some victim in object.keys(wanted_now)
	under_pressure(victim)
}

budget[victim] := {"rule": "track", "cores": tracking[victim]} if {
	some victim in object.keys(wanted_now)
	not under_pressure(victim)
	shielding(victim)
	contending(victim)
}

budget[victim] := {"rule": "release", "cores": released} if {
	some victim in object.keys(wanted_now)
	not under_pressure(victim)
	not contending(victim)
	released := max([tracking[victim], carried[victim].budget + t.release_step_cores])
	released < capacity[victim]
}

# unshielded victims had a budget and lose it this tick.
unshielded contains victim if {
	some victim in object.keys(carried)
	carried[victim].budget
	not budget[victim]
}

# ---------------------------------------------------------------------------
# Per-neighbour caps. A victim's budget is split evenly among its
# neighbours; a neighbour that may also run on CPUs outside the shared set
# keeps those whole. A neighbour of several shielded victims takes the
# smallest cap any of them allows.

share(victim, id) := max([t.min_quota_cores, budget[victim].cores / count(neighbours[victim])]) + count(unshared) if {
	unshared := {cpu | some cpu in be[id].cpus; not cpu in shared_cpus[victim]}
}

cap[id] := min(caps) if {
	some id in object.keys(be)
	caps := [share(victim, id) | some victim in object.keys(budget); id in neighbours[victim]]
	count(caps) > 0
}

# The spec's own quota, when it sets one, is a ceiling the cap never lifts.
quota(id) := round4(min([cap[id], spec_quota])) if {
	spec_quota := input.containers[id].spec.cpu_quota_cores
} else := round4(cap[id]) if {
	cap[id]
} else := object.get(input.containers[id], ["spec", "cpu_quota_cores"], null)

round4(x) := round(x * 10000) / 10000

# ---------------------------------------------------------------------------
# Output.

decision := {
	"containers": {id: container_decision(id) | some id in object.keys(input.containers)},
	"reasons": reasons,
	"carry": {"victims": {victim: carry(victim) | some victim in object.keys(wanted_now)}},
}

container_decision(id) := {field: value |
	some field, value in {
		"cpu_quota_cores": quota(id),
		"cpu_shares": object.get(input.containers[id], ["spec", "cpu_shares"], null),
		"net_mbit": object.get(input.containers[id], ["spec", "net_mbit"], null),
	}
	value != null
}

carry(victim) := {"wanted_now": round4(wanted_now[victim]), "budget": round4(budget[victim].cores)} if {
	budget[victim]
} else := {"wanted_now": round4(wanted_now[victim])}

reasons contains reason if {
	some victim, b in budget
	v := lc[victim]
	reason := {
		"rule": b.rule,
		"container": victim,
		"message": sprintf("%s: %s; neighbours %v may use %.3f of %d shared cores", [
			b.rule, describe(victim), sort(neighbours[victim]), b.cores, capacity[victim],
		]),
		"values": victim_values(victim, v, {"budget_cores": round4(b.cores)}),
	}
}

reasons contains reason if {
	some victim in unshielded
	v := lc[victim]
	reason := {
		"rule": "unshield",
		"container": victim,
		"message": sprintf("unshield: %s; neighbours uncapped", [describe(victim)]),
		"values": victim_values(victim, v, {}),
	}
}

reasons contains reason if {
	some id in object.keys(cap)
	reason := {
		"rule": "cap",
		"container": id,
		"message": sprintf("cap: %s quota %.3f cores to leave CPU for its latency-critical neighbours", [id, quota(id)]),
		"values": {"cap_cores": quota(id), "usage_cores": round4(be[id].usage_cores)},
	}
}

describe(victim) := sprintf("satisfaction %.3f, wait %.3f, wanted %.3f cores, pressure %v", [
	satisfaction(lc[victim]), lc[victim].wait_cores, wanted[victim], sort(object.get(pressure, victim, set())),
])

victim_values(victim, v, extra) := object.union(
	{
		"satisfaction": round4(satisfaction(v)),
		"usage_cores": round4(v.usage_cores),
		"wait_cores": round4(v.wait_cores),
		"backlog_cpu_seconds": round4(backlog(v)),
		"wanted_cores": round4(wanted[victim]),
		"capacity_cores": capacity[victim],
	},
	extra,
)
