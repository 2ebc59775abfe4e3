# Shield latency-critical (LC) containers from best-effort (BE) neighbours
# that share their CPUs, by capping the neighbours' CFS quota to what the
# victim leaves free. docs/policies.md documents the input and output; CPU
# amounts are integer millicores throughout.
#
# The cap is work-conserving: it follows the victim's demand tick by tick,
# so the neighbours get every core-second the victim does not want, less a
# small headroom. It is not a static partition.
#
# The engine evaluates this on every tick, and OPA's cost is about one
# step per reference, comparison, arithmetic operation or call. So each
# value is computed once, in a complete rule built by a comprehension, and
# later rules only look it up; thresholds are read once per rule, before
# its loop, not once per container.
package sluice.shield

t := data.thresholds

carried := object.get(input, ["previous", "carry", "victims"], {})

# ---------------------------------------------------------------------------
# Victims: latency-critical containers with best-effort contenders. The
# engine lists, per container, the containers of the other class whose CPUs
# overlap its own (contenders), and how many of its CPUs they may run on
# (contended_cpus, which is 0 exactly when there are no contenders).

victims := {victim: f |
	some victim in input.classes["latency-critical"]
	v := input.containers[victim]
	capacity := v.contended_cpus * 1000
	capacity > 0

	# The CPU the victim wanted over the last interval: what it ran plus
	# what it waited for, or what its work queue needs to keep up with
	# arrivals and drain its backlog, whichever is larger.
	usage := v.usage_millicores
	wait := v.wait_millicores
	run := usage + wait
	backlog := object.get(v, ["work", "backlog_cpu_ms"], 0)
	now := max([run, object.get(v, ["work", "arrived_millicores"], 0) + (backlog * drain)])

	# A cap decided now takes effect one tick later; adding the rise since
	# the previous tick keeps a rising demand from being starved by that lag.
	rise := max([0, now - object.get(carried, [victim, "wanted_now_millicores"], now)])
	wanted := now + (gain * rise)

	f := {
		"neighbours": count(v.contenders),
		"capacity": capacity,
		"usage": usage,
		"wait": wait,
		"run": run,
		"backlog": backlog,
		"wanted_now": now,
		"wanted": wanted,
		# What the victim leaves free: its neighbours' budget while shielding.
		"tracking": max([min_quota, (capacity - wanted) - headroom]),
	}
} if {
	drain := t.backlog_drain_per_second
	gain := t.trend_gain
	min_quota := t.min_quota_millicores
	headroom := t.headroom_millicores
}

# A neighbour contends when it presses against the cap in force: the kernel
# throttled it, or it used all of its quota.
contending(victim) if {
	some id, _ in input.containers[victim].contenders
	input.containers[id].throttled_us > 0
}

contending(victim) if {
	some id, _ in input.containers[victim].contenders
	b := input.containers[id]
	b.usage_millicores >= b.quota_millicores - t.contend_margin_millicores
}

# ---------------------------------------------------------------------------
# Pressure: named signals, one rule each, so that a further signal (a
# latency SLO) is one more rule here and changes nothing else.

# CPU satisfaction usage / (usage + wait) below the threshold, compared
# without dividing.
pressure contains [victim, "satisfaction"] if {
	wait_min := t.wait_min_millicores
	permille := t.satisfaction_min_permille
	some victim, f in victims
	f.wait >= wait_min
	f.usage * 1000 < permille * f.run
}

pressure contains [victim, "backlog"] if {
	backlog_max := t.backlog_max_cpu_ms
	some victim, f in victims
	f.backlog > backlog_max
}

# The signals that fired, by victim under pressure, as the reasons name them.
# pressure[[victim, signal]] matches the victim in hand; `some [victim,
# signal] in pressure` would declare a new one and list every victim's.
signals := {victim: concat(",", {signal | pressure[[victim, signal]]}) |
	some victim in {pressed | some [pressed, _] in pressure}
}

# ---------------------------------------------------------------------------
# The budget: the CPU all of a victim's neighbours may use on the shared
# CPUs together. Under pressure, and while a neighbour presses against the
# cap, it is what the victim leaves free (tracking). Once nothing contends
# it grows by a release step a tick, never below tracking, and the cap goes
# when the budget reaches the shared capacity.
#
# The budget is split evenly among the victim's neighbours (share), never
# below the smallest quota worth setting.

budget := {victim: {"rule": rule, "millicores": millicores, "share": share} |
	some victim, f in victims
	[rule, millicores] := victim_budget(victim, f.tracking, f.capacity)
	share := max([min_quota, floor(millicores / f.neighbours)])
} if {
	min_quota := t.min_quota_millicores
}

victim_budget(victim, tracking, capacity) := ["shield", tracking] if {
	signals[victim]
} else := ["track", tracking] if {
	carried[victim].budget_millicores
	contending(victim)
} else := ["release", released] if {
	released := max([tracking, carried[victim].budget_millicores + t.release_step_millicores])
	released < capacity
}

# Victims whose neighbours were capped on the previous tick and are not now.
unshielded := {victim | some victim, c in carried; c.budget_millicores; not budget[victim]}

# ---------------------------------------------------------------------------
# Per-neighbour caps. A neighbour that may also run on CPUs the victim does
# not use keeps those whole (outside_millicores, from the engine). A
# neighbour of several shielded victims takes the smallest cap any of them
# allows (min of nothing is undefined: no shielded victim, no cap), and the
# spec's own quota is a ceiling a cap never lifts.

# A calm tick, the common one, shields nobody and needs no pass over the
# neighbours.
caps := {} if {
	count(budget) == 0
} else := {id: {"cpu_quota_millicores": min([cap, object.get(b.spec, "cpu_quota_millicores", cap)])} |
	some id in input.classes["best-effort"]
	b := input.containers[id]
	cap := min([(budget[victim].share + outside) | some victim, outside in b.outside_millicores])
}

# ---------------------------------------------------------------------------
# Output. Containers the policy leaves out keep their spec's resources.

decision := {
	"containers": caps,
	"reasons": reasons,
	"carry": {"victims": carry},
}

# What the next tick needs: every victim's demand, and the budget of those
# shielded.
carry := object.union(
	{victim: {"wanted_now_millicores": f.wanted_now} | some victim, f in victims},
	{victim: {"budget_millicores": b.millicores} | some victim, b in budget},
)

reasons contains {
	"rule": b.rule,
	"container": victim,
	"message": sprintf(
		"%s: satisfaction %d.%03d, wait %d, wanted %d of %d millicores, pressure [%s]; %d neighbours capped at %d millicores each",
		[b.rule, floor(permille / 1000), permille % 1000, f.wait, f.wanted, f.capacity, object.get(signals, victim, ""), f.neighbours, b.share],
	),
	"values": {
		"satisfaction": permille / 1000,
		"usage_millicores": f.usage,
		"wait_millicores": f.wait,
		"backlog_cpu_ms": f.backlog,
		"wanted_millicores": f.wanted,
		"capacity_millicores": f.capacity,
		"budget_millicores": b.millicores,
		"neighbour_cap_millicores": b.share,
	},
} if {
	some victim, b in budget
	f := victims[victim]
	permille := satisfaction_permille(f.usage, f.wait)
}

reasons contains {
	"rule": "unshield",
	"container": victim,
	"message": sprintf(
		"unshield: satisfaction %d.%03d, wait %d, wanted %d of %d millicores, pressure [%s]; neighbours uncapped",
		[floor(permille / 1000), permille % 1000, f.wait, f.wanted, f.capacity, object.get(signals, victim, "")],
	),
	"values": {
		"satisfaction": permille / 1000,
		"usage_millicores": f.usage,
		"wait_millicores": f.wait,
		"backlog_cpu_ms": f.backlog,
		"wanted_millicores": f.wanted,
		"capacity_millicores": f.capacity,
	},
} if {
	some victim in unshielded
	f := victims[victim]
	permille := satisfaction_permille(f.usage, f.wait)
}

reasons contains {
	"rule": "unshield",
	"container": victim,
	"message": sprintf("unshield: %s is gone or has no best-effort neighbour; neighbours uncapped", [victim]),
} if {
	some victim in unshielded
	not victims[victim]
}

# Satisfaction in thousandths, an integer, so that the message prints it
# with three decimals even when it is whole (sprintf's %.3f prints an
# integer 1 as "%!f(int64=001)").
satisfaction_permille(usage, wait) := round((usage * 1000) / (usage + wait)) if {
	usage + wait > 0
} else := 1000
