# Shield latency-critical (LC) containers from best-effort (BE) neighbours
# that share their CPUs, by capping the neighbours' CFS quota to what the
# victim leaves free. docs/policies.md documents the input and output; CPU
# amounts are integer millicores throughout.
#
# The cap is work-conserving: it follows the victim's demand tick by tick,
# so the neighbours get every core-second the victim does not want, less a
# small headroom. It is not a static partition.
package sluice.shield

t := data.thresholds

# ---------------------------------------------------------------------------
# Victims: latency-critical containers with best-effort contenders. The
# engine lists, per container, the containers of the other class whose CPUs
# overlap its own, and how many of its CPUs they may run on.
#
# The rules below are complete rules built by comprehensions, evaluated
# once per decision; later rules only look values up in them.

carried := object.get(input, ["previous", "carry", "victims"], {})

victims := {victim: f |
	some victim in input.classes["latency-critical"]
	v := input.containers[victim]
	count(v.contenders) > 0

	# The CPU the victim wanted over the last interval: what it ran plus
	# what it waited for, or what its work queue needs to keep up with
	# arrivals and drain its backlog, whichever is larger.
	run_demand := v.usage_millicores + v.wait_millicores
	now := max([run_demand, work_demand(v)])

	# A cap decided now takes effect one tick later; adding the rise since
	# the previous tick keeps a rising demand from being starved by that lag.
	rise := max([0, now - object.get(carried, [victim, "wanted_now_millicores"], now)])
	wanted := now + (t.trend_gain * rise)
	capacity := v.contended_cpus * 1000

	f := {
		"neighbours": v.contenders,
		"capacity": capacity,
		"usage": v.usage_millicores,
		"wait": v.wait_millicores,
		"backlog": object.get(v, ["work", "backlog_cpu_ms"], 0),
		"wanted_now": now,
		"wanted": wanted,
		# What the victim leaves free: its neighbours' budget while shielding.
		"tracking": max([t.min_quota_millicores, (capacity - wanted) - t.headroom_millicores]),
	}
}

work_demand(v) := demand if {
	demand := v.work.arrived_millicores + (v.work.backlog_cpu_ms * t.backlog_drain_per_second)
} else := 0

# A neighbour contends when it presses against the cap in force: the kernel
# throttled it, or it used all of its quota.
contending(victim) if {
	some id, _ in victims[victim].neighbours
	input.containers[id].throttled_us > 0
}

contending(victim) if {
	some id, _ in victims[victim].neighbours
	b := input.containers[id]
	b.usage_millicores >= b.quota_millicores - t.contend_margin_millicores
}

# ---------------------------------------------------------------------------
# Pressure: named signals, one rule each, so that a further signal (a
# latency SLO) is one more rule here and changes nothing else.

# CPU satisfaction usage / (usage + wait) below the threshold, compared
# without dividing.
pressure contains [victim, "satisfaction"] if {
	some victim, f in victims
	f.wait >= t.wait_min_millicores
	f.usage * 1000 < t.satisfaction_min_permille * (f.usage + f.wait)
}

pressure contains [victim, "backlog"] if {
	some victim, f in victims
	f.backlog > t.backlog_max_cpu_ms
}

under_pressure := {victim | some [victim, _] in pressure}

# ---------------------------------------------------------------------------
# The budget: the CPU all of a victim's neighbours may use on the shared
# CPUs together. Under pressure, and while a neighbour presses against the
# cap, it is what the victim leaves free (tracking). Once nothing contends
# it grows by a release step a tick, never below tracking, and the cap goes
# when the budget reaches the shared capacity.

budget := {victim: b | some victim, f in victims; b := victim_budget(victim, f)}

victim_budget(victim, f) := {"rule": "shield", "millicores": f.tracking} if {
	under_pressure[victim]
} else := {"rule": "track", "millicores": f.tracking} if {
	carried[victim].budget_millicores
	contending(victim)
} else := {"rule": "release", "millicores": released} if {
	released := max([f.tracking, carried[victim].budget_millicores + t.release_step_millicores])
	released < f.capacity
}

# Victims whose neighbours were capped on the previous tick and are not now.
unshielded := {victim | some victim, c in carried; c.budget_millicores; not budget[victim]}

# ---------------------------------------------------------------------------
# Per-neighbour caps. A victim's budget is split evenly among its
# neighbours; a neighbour that may also run on CPUs the victim does not use
# keeps those whole. A neighbour of several shielded victims takes the
# smallest cap any of them allows.

neighbour_share := {victim: share |
	some victim, b in budget
	share := max([t.min_quota_millicores, floor(b.millicores / count(victims[victim].neighbours))])
}

# Each cap is the smallest of the shares and of the spec's own quota, which
# is a ceiling a cap never lifts.
caps := {id: min(array.concat(shares, spec_quota)) |
	some id in input.classes["best-effort"]
	b := input.containers[id]
	shares := [share |
		some victim, overlap in b.contenders
		share := neighbour_share[victim] + ((count(b.cpus) - overlap) * 1000)
	]
	count(shares) > 0
	spec_quota := [quota | quota := b.spec.cpu_quota_millicores]
}

# ---------------------------------------------------------------------------
# Output. Containers the policy leaves out keep their spec's resources.

decision := {
	"containers": {id: {"cpu_quota_millicores": cap} | some id, cap in caps},
	"reasons": reasons,
	"carry": {"victims": {victim: carry(victim, f) | some victim, f in victims}},
}

carry(victim, f) := {"wanted_now_millicores": f.wanted_now, "budget_millicores": budget[victim].millicores} if {
	budget[victim]
} else := {"wanted_now_millicores": f.wanted_now}

reasons contains {
	"rule": b.rule,
	"container": victim,
	"message": sprintf("%s: %s; %d neighbours capped at %d millicores each", [
		b.rule, describe(victim, f), count(f.neighbours), share,
	]),
	"values": object.union(victim_values(f), {
		"budget_millicores": b.millicores,
		"neighbour_cap_millicores": share,
	}),
} if {
	some victim, b in budget
	f := victims[victim]
	share := neighbour_share[victim]
}

reasons contains {
	"rule": "unshield",
	"container": victim,
	"message": sprintf("unshield: %s; neighbours uncapped", [describe(victim, f)]),
	"values": victim_values(f),
} if {
	some victim in unshielded
	f := victims[victim]
}

reasons contains {
	"rule": "unshield",
	"container": victim,
	"message": sprintf("unshield: %s is gone or has no best-effort neighbour; neighbours uncapped", [victim]),
} if {
	some victim in unshielded
	not victims[victim]
}

# The victim's own signals only: pressure[[victim, signal]] matches the
# victim in hand, where `some [victim, signal] in pressure` would declare a
# new victim and list every victim's signals.
describe(victim, f) := sprintf("satisfaction %d.%03d, wait %d, wanted %d of %d millicores, pressure [%s]", [
	floor(permille / 1000), permille % 1000, f.wait, f.wanted, f.capacity, concat(",", {signal | pressure[[victim, signal]]}),
]) if {
	permille := satisfaction_permille(f)
}

# Satisfaction in thousandths, an integer, so that the message prints it
# with three decimals even when it is whole (sprintf's %.3f prints an
# integer 1 as "%!f(int64=001)").
satisfaction_permille(f) := round((f.usage * 1000) / (f.usage + f.wait)) if {
	f.usage + f.wait > 0
} else := 1000

satisfaction(f) := satisfaction_permille(f) / 1000

victim_values(f) := {
	"satisfaction": satisfaction(f),
	"usage_millicores": f.usage,
	"wait_millicores": f.wait,
	"backlog_cpu_ms": f.backlog,
	"wanted_millicores": f.wanted,
	"capacity_millicores": f.capacity,
}
