# Shield latency-critical (LC) containers from best-effort (BE) neighbours
# that share their CPUs: the neighbours run at the lowest CPU weight, and
# under pressure their CFS quota is capped to what the victim leaves free
# until the pressure is gone. docs/policies.md documents the input and
# output; CPU amounts are integer millicores throughout.
#
# Both are work-conserving: the cap follows the victim's demand tick by
# tick and is released once the victim is served again, and the weight
# only matters while the victim wants the CPU. Neither is a static
# partition.
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

	# The victim's demand rate and the CPU time it has queued. A victim
	# that reports its work queue says both: its arrivals, and its backlog,
	# which the policy drains over a short horizon
	# (backlog_drain_per_second). Otherwise the rate is what it ran plus
	# what it waited for in the run queue, and there is no backlog. The
	# work report comes first because on a real kernel a service's
	# run-queue wait says little about the CPU it lacks: a Go service's
	# runtime threads wait after every wakeup, fully served or not.
	rate := object.get(v, ["work", "arrived_millicores"], v.usage_millicores + v.wait_millicores)
	backlog := object.get(v, ["work", "backlog_cpu_ms"], 0)

	# A cap decided now takes effect one tick later; adding the rise of the
	# rate since the previous tick keeps a rising demand from being starved
	# by that lag. The rise is the rate's only, not the backlog's, which
	# comes and goes from one tick to the next.
	rise := max([0, rate - object.get(carried, [victim, "rate_millicores"], rate)])

	wanted := ((rate + object.get(overheads, [victim, 1], 0)) + (backlog * drain)) + (gain * rise)

	f := {
		"neighbours": count(v.contenders),
		"overrun": v.contenders_overrun_millicores,
		"capacity": capacity,
		"usage": v.usage_millicores,
		"wait": v.wait_millicores,
		"rate": rate,
		"backlog": backlog,
		"wanted": wanted,
		# What the victim leaves free, less the margin: its neighbours'
		# budget while shielding (tracking).
		"free": (capacity - wanted) - headroom,
		"slo_ms": object.get(v, ["slo", "latency_p99_ms"], 0),
		"p99_ms": object.get(v, ["latency", "p99_ms"], 0),
	}
} if {
	drain := t.backlog_drain_per_second
	gain := t.trend_gain
	headroom := t.headroom_millicores
}

# The CPU a victim that reports its work uses beyond the work it reports
# serving (its runtime, its telemetry), averaged over ticks (a quarter of
# each new tick), because its reports and the CPU counters are read at
# slightly different instants and one tick's difference swings both ways.
# A victim without a work report has none. [average, what the demand
# counts]: the average is carried as it is, and may be negative for a
# while; the demand counts none of a negative one.
overheads := {victim: [overhead, max([0, overhead])] |
	some victim in input.classes["latency-critical"]
	v := input.containers[victim]
	w := v.work
	overhead := floor(((3 * object.get(carried, [victim, "overhead_millicores"], 0)) + (v.usage_millicores - w.served_millicores)) / 4)
}

# ---------------------------------------------------------------------------
# The margin is CPU a victim needs beyond its measured demand, learned
# under a cap the policy set: when the cap let the neighbours through more
# than the headroom allows (CFS bursts of the neighbours, a victim whose
# overhead changed), the victim's queue grows, or its latency rises above
# its SLO (tightened). The margin then grows, by margin_per_backlog_ms for
# each CPU-millisecond of backlog past backlog_max_cpu_ms (a queue a
# little past it teaches little; one burst of the victim's own, at most
# margin_step_max_millicores), or by margin_latency_step_millicores,
# unless the shared CPUs were not busy with the victim and its neighbours
# (shared_cpus_busy). On every other tick it shrinks by a smaller step, so
# that it lasts across the swings of a periodic demand but gives the CPU
# back once it is no longer needed. Only victims with a margin carried or
# tightened now are listed; the others' margin is 0.

margins := object.union(
	{victim: max([0, c.margin_millicores - decay]) | some victim, c in carried; c.margin_millicores > 0},
	{victim: min([margin_max, object.get(carried, [victim, "margin_millicores"], 0) + step]) |
		some victim in {tight | some [tight, _] in tightened}
		step := max([grow | tightened[[victim, grow]]])
	},
) if {
	decay := t.margin_decay_millicores
	margin_max := t.margin_max_millicores
}

# Victims under a cap with their carried state. A budget at the floor
# counts as none: there a larger margin would change nothing. Nor does the
# first tick of a shield (capped_ticks 1): its neighbours had a whole tick
# uncapped, and their overrun of a brand-new quota still fills the
# victim's queue, which says nothing about the cap.
capped := {victim: c |
	some victim, c in carried
	c.capped_ticks > 1
	c.budget_millicores > min_quota
} if {
	min_quota := t.min_quota_millicores
}

# [victim, step]: a victim under a cap whose queue grew past the little a
# served queue holds (the request in service) ...
tightened contains [victim, min([t.margin_step_max_millicores, (f.backlog - backlog_max) * t.margin_per_backlog_ms])] if {
	backlog_max := t.backlog_max_cpu_ms
	some victim, c in capped
	f := victims[victim]
	f.backlog > backlog_max
	f.backlog > object.get(c, "backlog_cpu_ms", 0)
	shared_cpus_busy(victim, f)
}

# ... or whose latency is above its SLO while its queue is not draining:
# the latency of a queue that drains is that of requests that waited before
# the cap, and says nothing about the cap in force.
tightened contains [victim, t.margin_latency_step_millicores] if {
	some victim, c in capped
	with_slo[victim]
	f := victims[victim]
	f.p99_ms > f.slo_ms
	f.backlog >= object.get(c, "backlog_cpu_ms", 0)
	shared_cpus_busy(victim, f)
}

# The victim and its neighbours used (nearly) all of the shared CPUs, so
# what the victim lacked went to the neighbours. When they left CPU unused
# while the victim's queue grew, something else ran there (another
# process, the host), and a larger margin learned from it would only starve
# the neighbours for as long as it lasts. Evaluated only on the rare tick
# that would tighten.
shared_cpus_busy(victim, f) if {
	used := sum([input.containers[id].usage_millicores | some id, _ in input.containers[victim].contenders])
	(f.usage + used) * 1000 >= t.busy_permille * f.capacity
}

# The victims with a latency SLO.
with_slo := {victim | some victim, f in victims; f.slo_ms > 0}

# The latency leaves slack: no SLO, or the p99 well below it.
slack(f) if f.slo_ms == 0

slack(f) if f.p99_ms * 1000 < t.slo_slack_permille * f.slo_ms

# ---------------------------------------------------------------------------
# Pressure: named signals, one rule each, so that a further signal is one
# more rule here and changes nothing else.

# CPU satisfaction usage / (usage + wait) below the threshold, compared
# without dividing (usage + wait is the rate of a victim without a work
# report); only for such a victim, since a queue says more.
pressure contains [victim, "satisfaction"] if {
	wait_min := t.wait_min_millicores
	permille := t.satisfaction_min_permille
	some victim, f in victims
	f.wait >= wait_min
	f.usage * 1000 < permille * f.rate
	not input.containers[victim].work
}

# Work waits in the victim's queue beyond the little a served queue holds
# (the request in service). The backlog is what arrived and was not
# served, so it also says when service falls behind arrivals.
pressure contains [victim, "backlog"] if {
	backlog_max := t.backlog_max_cpu_ms
	some victim, f in victims
	f.backlog > backlog_max
}

# The p99 latency of the victim's requests is above its SLO.
pressure contains [victim, "latency"] if {
	some victim in with_slo
	f := victims[victim]
	f.p99_ms > f.slo_ms
}

# The signals that fired, by victim under pressure, as the reasons name them.
# pressure[[victim, signal]] matches the victim in hand; `some [victim,
# signal] in pressure` would declare a new one and list every victim's.
signals := {victim: concat(",", {signal | pressure[[victim, signal]]}) |
	some victim in {pressed | some [pressed, _] in pressure}
}

# ---------------------------------------------------------------------------
# The budget: the CPU all of a victim's neighbours may use on the shared
# CPUs together. Under pressure it is what the victim leaves free
# (tracking). Once the pressure is gone it grows by a release step a tick,
# never below tracking, and the cap goes when the budget reaches the shared
# capacity: from then on the neighbours' weight alone keeps them behind
# the victim, and they get all the CPU it leaves. A latency without slack
# below the SLO holds the budget at tracking: no release while the victim
# is close to its objective.
#
# The budget is what the neighbours may use. Capped neighbours that used
# more than their quotas overran them (a kernel refills a group's quota
# when it is rewritten, and lets a running task finish its slice): their
# overrun (contenders_overrun_millicores, from the engine) comes out of the
# budget before it is split evenly among the victim's neighbours (share),
# never below the smallest quota worth setting.

budget := {victim: {"rule": rule, "millicores": millicores, "share": share, "margin": margin, "overrun": overrun} |
	some victim in contested
	f := victims[victim]
	margin := object.get(margins, victim, 0)
	tracking := max([min_quota, f.free - margin])
	[rule, millicores] := victim_budget(victim, f, tracking)

	# What the neighbours overran their quotas by, averaged over this
	# tick and the previous one: a kernel's overrun swings from tick to
	# tick with how many of its periods a tick holds.
	overrun := floor((f.overrun + object.get(carried, [victim, "overrun_millicores"], f.overrun)) / 2)
	share := max([min_quota, floor((millicores - overrun) / f.neighbours)])
} if {
	min_quota := t.min_quota_millicores
}

# The victims a budget may concern: those under pressure, and those
# whose neighbours were capped on the previous tick. On a calm tick, the
# common one, there are none.
contested := {victim | some victim, _ in signals} | {victim | some victim, c in carried; c.budget_millicores; victims[victim]}

victim_budget(victim, _, tracking) := ["shield", tracking] if {
	signals[victim]
} else := ["hold", tracking] if {
	carried[victim].budget_millicores
	not slack(victims[victim])
} else := ["release", released] if {
	released := max([tracking, carried[victim].budget_millicores + t.release_step_millicores])
	released < victims[victim].capacity
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
# Weights. Every best-effort container runs at the lowest CPU weight
# (best_effort_shares), as a BestEffort pod does on Kubernetes: it gets
# what the others leave. A quota alone shields badly at the scale of one
# request. A throttled neighbour's virtual runtime stands still while the
# victim runs; when its quota refills at the next period it is so far
# behind that it keeps the CPU for up to its whole quota, and the victim's
# requests wait behind it for tens of milliseconds. At the lowest weight
# its virtual runtime catches up within a fraction of a millisecond, and a
# victim that wakes takes the CPU back at once. The weight holds on every
# tick, not only under pressure, so that nothing has to be restored when
# the pressure ends. A spec that sets a weight keeps it: that is the
# operator's choice. A best-effort container that shares no CPU with a
# latency-critical one contends with nobody the policy protects, and
# keeps its own weight: the lowest would only hand its CPU to host
# processes.
#
# A best-effort container's settings: the weight, and its cap, else its
# spec's quota (a quota missing from a decision means no limit).
# object.union merges the per-container objects, and three whole-map
# unions cost less than a union per container on every tick.
best_effort := object.union(object.union(weights, spec_quotas), caps)

weights := {id: {"cpu_shares": object.get(input.containers[id].spec, "cpu_shares", shares)} |
	some id in input.classes["best-effort"]
	count(input.containers[id].contenders) > 0
} if {
	shares := t.best_effort_shares
}

spec_quotas := {id: {"cpu_quota_millicores": quota} |
	some id in input.classes["best-effort"]
	quota := input.containers[id].spec.cpu_quota_millicores
}

# ---------------------------------------------------------------------------
# Output. Containers the policy leaves out keep their spec's resources.

# Latency-critical containers appear only with quota lent above their
# spec's limit (bursts, burst.rego).
decision := {
	"containers": object.union(best_effort, bursts),
	"reasons": reasons,
	"carry": {"victims": carry},
}

# What the next tick needs: every victim's demand rate and backlog, the
# overheads, the margins above 0, and for the victims shielded the budget,
# how long they have been (1, or 2 for longer) and their neighbours'
# overrun.
carry := object.union(
	object.union(
		{victim: {"rate_millicores": f.rate, "backlog_cpu_ms": f.backlog} | some victim, f in victims},
		{victim: {"overhead_millicores": overhead} | some victim, [overhead, _] in overheads},
	),
	object.union({victim: {"margin_millicores": margin} | some victim, margin in margins; margin > 0}, {victim: {
		"budget_millicores": b.millicores,
		"capped_ticks": min([2, object.get(carried, [victim, "capped_ticks"], 0) + 1]),
		"overrun_millicores": victims[victim].overrun,
	} |
		some victim, b in budget
	}),
)

# One reason per victim whose rule fired. It names the victim's queue when
# the victim reports one, else its CPU satisfaction and wait; then its
# latency against its SLO, when it has one (latency_said).
reasons contains {
	"rule": b.rule,
	"container": victim,
	"message": sprintf(
		"%s: backlog %d ms, served %d of %d millicores arrived%s, wanted %d of %d millicores, margin %d, pressure [%s]; %d neighbours capped at %d millicores each, overrun %d",
		[b.rule, f.backlog, w.served_millicores, f.rate, object.get(latency_said, [victim, 0], ""), f.wanted, f.capacity, b.margin, object.get(signals, victim, ""), f.neighbours, b.share, b.overrun],
	),
	"values": object.union(object.get(latency_said, [victim, 1], {}), {
		"usage_millicores": f.usage,
		"arrived_millicores": f.rate,
		"served_millicores": w.served_millicores,
		"overhead_millicores": overheads[victim][0],
		"backlog_cpu_ms": f.backlog,
		"wanted_millicores": f.wanted,
		"capacity_millicores": f.capacity,
		"margin_millicores": b.margin,
		"budget_millicores": b.millicores,
		"neighbour_cap_millicores": b.share,
		"overrun_millicores": b.overrun,
	}),
} if {
	some victim, b in budget
	w := input.containers[victim].work
	f := victims[victim]
}

reasons contains {
	"rule": b.rule,
	"container": victim,
	"message": sprintf(
		"%s: satisfaction %d.%03d, wait %d%s, wanted %d of %d millicores, margin %d, pressure [%s]; %d neighbours capped at %d millicores each, overrun %d",
		[b.rule, floor(permille / 1000), permille % 1000, f.wait, object.get(latency_said, [victim, 0], ""), f.wanted, f.capacity, b.margin, object.get(signals, victim, ""), f.neighbours, b.share, b.overrun],
	),
	"values": object.union(object.get(latency_said, [victim, 1], {}), {
		"usage_millicores": f.usage,
		"wait_millicores": f.wait,
		"satisfaction": permille / 1000,
		"wanted_millicores": f.wanted,
		"capacity_millicores": f.capacity,
		"margin_millicores": b.margin,
		"budget_millicores": b.millicores,
		"neighbour_cap_millicores": b.share,
		"overrun_millicores": b.overrun,
	}),
} if {
	some victim, b in budget
	not input.containers[victim].work
	f := victims[victim]
	permille := satisfaction_permille(f.usage, f.wait)
}

reasons contains {
	"rule": "unshield",
	"container": victim,
	"message": sprintf(
		"unshield: backlog %d ms, served %d of %d millicores arrived%s, wanted %d of %d millicores, margin %d, pressure [%s]; neighbours uncapped",
		[f.backlog, w.served_millicores, f.rate, object.get(latency_said, [victim, 0], ""), f.wanted, f.capacity, margin, object.get(signals, victim, "")],
	),
	"values": object.union(object.get(latency_said, [victim, 1], {}), {
		"usage_millicores": f.usage,
		"arrived_millicores": f.rate,
		"served_millicores": w.served_millicores,
		"overhead_millicores": overheads[victim][0],
		"backlog_cpu_ms": f.backlog,
		"wanted_millicores": f.wanted,
		"capacity_millicores": f.capacity,
		"margin_millicores": margin,
	}),
} if {
	some victim in unshielded
	w := input.containers[victim].work
	f := victims[victim]
	margin := object.get(margins, victim, 0)
}

reasons contains {
	"rule": "unshield",
	"container": victim,
	"message": sprintf(
		"unshield: satisfaction %d.%03d, wait %d%s, wanted %d of %d millicores, margin %d, pressure [%s]; neighbours uncapped",
		[floor(permille / 1000), permille % 1000, f.wait, object.get(latency_said, [victim, 0], ""), f.wanted, f.capacity, margin, object.get(signals, victim, "")],
	),
	"values": object.union(object.get(latency_said, [victim, 1], {}), {
		"usage_millicores": f.usage,
		"wait_millicores": f.wait,
		"satisfaction": permille / 1000,
		"wanted_millicores": f.wanted,
		"capacity_millicores": f.capacity,
		"margin_millicores": margin,
	}),
} if {
	some victim in unshielded
	not input.containers[victim].work
	f := victims[victim]
	margin := object.get(margins, victim, 0)
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

# The latency of the victims with an SLO, as their reasons name it: text
# and values.
latency_said := {victim: [
	sprintf(", p99 %v ms of SLO %v ms", [f.p99_ms, f.slo_ms]),
	{"latency_p99_ms": f.p99_ms, "slo_latency_p99_ms": f.slo_ms},
] |
	some victim in with_slo
	f := victims[victim]
}

# Satisfaction in thousandths, an integer, so that the message prints it
# with three decimals even when it is whole (sprintf's %.3f prints an
# integer 1 as "%!f(int64=001)").
satisfaction_permille(usage, wait) := round((usage * 1000) / (usage + wait)) if {
	usage + wait > 0
} else := 1000
