package sluice.shield_test

import data.sluice.shield

# ---------------------------------------------------------------------------
# Fixtures: one CPU, a latency-critical victim and a best-effort hog, in
# millicores, with the contenders (and the CPU each leaves the other:
# outside_millicores) the engine would compute.

victim(usage, wait) := {
	"class": "latency-critical", "cpus": [0], "observed": true, "spec": {},
	"contenders": {"batch/hog": 1}, "contended_cpus": 1, "outside_millicores": {"batch/hog": 0},
	"usage_millicores": usage, "wait_millicores": wait, "throttled_us": 0,
}

hog(usage) := {
	"class": "best-effort", "cpus": [0], "observed": true, "spec": {},
	"contenders": {"shop/victim": 1}, "contended_cpus": 1, "outside_millicores": {"shop/victim": 0},
	"usage_millicores": usage, "wait_millicores": 1000 - usage, "throttled_us": 0,
}

capped_hog(usage, quota) := patched(hog(usage), {"quota_millicores": quota, "throttled_us": 50000})

idle_hog(usage, quota) := patched(hog(usage), {"quota_millicores": quota})

node_input(containers) := {
	"node": {"name": "node-1", "cpus": 1, "memory_bytes": 0, "net_mbit": 0, "labels": {}},
	"observation": {"time": "2030-01-02T03:04:05Z", "interval_seconds": 0.25, "host": {"cpus": 1, "usage_millicores": 1000}},
	"containers": containers,
	"classes": {
		"latency-critical": [id | some id, c in containers; c.class == "latency-critical"],
		"best-effort": [id | some id, c in containers; c.class == "best-effort"],
	},
}

with_carry(base, victims) := object.union(base, {"previous": {
	"revision": 41, "time": "2030-01-02T03:04:04.75Z", "bundle_digest": "sha256:test",
	"containers": {}, "carry": {"victims": victims},
}})

# patched replaces fields whole; object.union would merge nested objects
# such as contenders.
patched(obj, fields) := object.union(object.remove(obj, object.keys(fields)), fields)

quota_of(d, id) := d.containers[id].cpu_quota_millicores

rules_for(d, container) := {r.rule | some r in d.reasons; r.container == container}

# ---------------------------------------------------------------------------
# Shield, track, release, unshield.

test_no_neighbour_no_cap if {
	alone := patched(victim(700, 300), {"contenders": {}, "contended_cpus": 0, "outside_millicores": {}})
	d := shield.decision with input as node_input({"shop/victim": alone})
	d.containers == {}
	count(d.reasons) == 0
	d.carry.victims == {}
}

test_no_pressure_no_cap if {
	d := shield.decision with input as node_input({"shop/victim": victim(300, 0), "batch/hog": hog(700)})
	d.containers == {}
	count(d.reasons) == 0
	d.carry.victims["shop/victim"] == {"wanted_now_millicores": 300}
}

test_pressure_caps_the_hog_to_what_the_victim_leaves_free if {
	d := shield.decision with input as node_input({"shop/victim": victim(500, 200), "batch/hog": hog(500)})

	# 1000 − 700 wanted − 30 headroom
	d.containers == {"batch/hog": {"cpu_quota_millicores": 270}}
	rules_for(d, "shop/victim") == {"shield"}
	d.carry.victims["shop/victim"] == {"wanted_now_millicores": 700, "budget_millicores": 270}
}

test_shield_reason_names_the_values if {
	d := shield.decision with input as node_input({"shop/victim": victim(500, 200), "batch/hog": hog(500)})
	some r in d.reasons
	r.rule == "shield"
	r.values.satisfaction == 0.714
	r.values.wait_millicores == 200
	r.values.wanted_millicores == 700
	r.values.budget_millicores == 270
	r.values.neighbour_cap_millicores == 270
	contains(r.message, "satisfaction 0.714")
	contains(r.message, "pressure [satisfaction]")
	contains(r.message, "capped at 270 millicores")
}

test_a_little_wait_is_not_pressure if {
	d := shield.decision with input as node_input({"shop/victim": victim(100, 10), "batch/hog": hog(890)})
	d.containers == {}
}

test_backlog_is_pressure if {
	v := patched(victim(500, 0), {"work": {"arrived_millicores": 500, "served_millicores": 500, "backlog_cpu_ms": 100}})
	d := shield.decision with input as node_input({"shop/victim": v, "batch/hog": hog(500)})

	# wanted = 500 arriving + 100 ms of backlog drained at 2/s = 700
	quota_of(d, "batch/hog") == 270
	some r in d.reasons
	contains(r.message, "pressure [backlog]")

	# A whole satisfaction prints with its three decimals too.
	contains(r.message, "satisfaction 1.000,")
	r.values.satisfaction == 1
}

test_each_reason_names_its_own_victims_signals if {
	starved := victim(500, 200)
	queued := patched(victim(500, 0), {
		"cpus": [1], "contenders": {"batch/other": 1}, "outside_millicores": {"batch/other": 0},
		"work": {"arrived_millicores": 500, "served_millicores": 500, "backlog_cpu_ms": 100},
	})
	other := patched(hog(500), {"cpus": [1], "contenders": {"shop/queued": 1}, "outside_millicores": {"shop/queued": 0}})
	doc := object.union(
		node_input({"shop/victim": starved, "shop/queued": queued, "batch/hog": hog(500), "batch/other": other}),
		{"node": {"cpus": 2}},
	)
	d := shield.decision with input as doc
	messages := {r.container: r.message | some r in d.reasons}
	contains(messages["shop/victim"], "pressure [satisfaction];")
	contains(messages["shop/queued"], "pressure [backlog];")
}

test_work_queue_demand_beats_usage if {
	v := patched(victim(400, 100), {"work": {"arrived_millicores": 800, "served_millicores": 400, "backlog_cpu_ms": 100}})
	d := shield.decision with input as node_input({"shop/victim": v, "batch/hog": hog(600)})

	# max(500, 800 + 2 × 100) leaves nothing: the floor holds.
	d.carry.victims["shop/victim"].wanted_now_millicores == 1000
	quota_of(d, "batch/hog") == 50
}

test_rising_demand_adds_its_rise if {
	doc := with_carry(
		node_input({"shop/victim": victim(500, 100), "batch/hog": hog(500)}),
		{"shop/victim": {"wanted_now_millicores": 500}},
	)
	d := shield.decision with input as doc

	# wanted 600 + rise 100: 1000 − 700 − 30
	quota_of(d, "batch/hog") == 270
}

test_track_follows_a_falling_demand_while_the_hog_presses if {
	doc := with_carry(
		node_input({"shop/victim": victim(300, 0), "batch/hog": capped_hog(400, 400)}),
		{"shop/victim": {"wanted_now_millicores": 500, "budget_millicores": 400}},
	)
	d := shield.decision with input as doc
	quota_of(d, "batch/hog") == 670
	rules_for(d, "shop/victim") == {"track"}
}

test_a_hog_using_its_whole_quota_contends_unthrottled if {
	full := patched(hog(390), {"quota_millicores": 400})
	doc := with_carry(
		node_input({"shop/victim": victim(300, 0), "batch/hog": full}),
		{"shop/victim": {"wanted_now_millicores": 300, "budget_millicores": 400}},
	)
	d := shield.decision with input as doc
	rules_for(d, "shop/victim") == {"track"}
}

test_release_steps_up_when_nothing_contends if {
	doc := with_carry(
		node_input({"shop/victim": victim(800, 0), "batch/hog": idle_hog(100, 300)}),
		{"shop/victim": {"wanted_now_millicores": 800, "budget_millicores": 300}},
	)
	d := shield.decision with input as doc

	# max(tracking 1000 − 800 − 30, 300 + release step 100)
	quota_of(d, "batch/hog") == 400
	rules_for(d, "shop/victim") == {"release"}
}

test_release_never_goes_below_what_the_victim_leaves_free if {
	doc := with_carry(
		node_input({"shop/victim": victim(100, 0), "batch/hog": idle_hog(100, 300)}),
		{"shop/victim": {"wanted_now_millicores": 100, "budget_millicores": 300}},
	)
	d := shield.decision with input as doc
	quota_of(d, "batch/hog") == 870
}

test_unshield_drops_the_cap_past_capacity if {
	doc := with_carry(
		node_input({"shop/victim": victim(20, 0), "batch/hog": idle_hog(100, 950)}),
		{"shop/victim": {"wanted_now_millicores": 20, "budget_millicores": 950}},
	)
	d := shield.decision with input as doc
	d.containers == {}
	rules_for(d, "shop/victim") == {"unshield"}
	not d.carry.victims["shop/victim"].budget_millicores
}

test_unshield_when_the_victim_is_gone if {
	doc := with_carry(
		node_input({"batch/hog": patched(idle_hog(900, 500), {"contenders": {}, "outside_millicores": {}})}),
		{"shop/victim": {"wanted_now_millicores": 500, "budget_millicores": 500}},
	)
	d := shield.decision with input as doc
	d.containers == {}
	rules_for(d, "shop/victim") == {"unshield"}
}

# ---------------------------------------------------------------------------
# Several neighbours, CPUs outside the victim's, spec limits.

test_budget_is_split_and_unshared_cpus_kept if {
	v := patched(victim(500, 200), {
		"contenders": {"batch/hog": 1, "batch/wide": 1},
		"outside_millicores": {"batch/hog": 0, "batch/wide": 0},
	})
	wide := patched(hog(1500), {"cpus": [0, 1], "outside_millicores": {"shop/victim": 1000}})
	doc := object.union(
		node_input({"shop/victim": v, "batch/hog": hog(300), "batch/wide": wide}),
		{"node": {"cpus": 2}},
	)
	d := shield.decision with input as doc

	# (1000 − 700 − 30) / 2 each, and the wide one keeps CPU 1 whole.
	quota_of(d, "batch/hog") == 135
	quota_of(d, "batch/wide") == 1135
}

test_a_neighbour_of_two_victims_takes_the_smaller_cap if {
	first := victim(500, 200)
	second := patched(victim(900, 100), {"cpus": [1]})
	both := patched(hog(1000), {
		"cpus": [0, 1],
		"contenders": {"shop/victim": 1, "shop/other": 1},
		"outside_millicores": {"shop/victim": 1000, "shop/other": 1000},
	})
	doc := object.union(
		node_input({"shop/victim": first, "shop/other": second, "batch/hog": both}),
		{"node": {"cpus": 2}},
	)
	d := shield.decision with input as doc

	# first allows 270 + CPU 1; second allows max(50, 1000 − 1000 − 30) + CPU 0.
	quota_of(d, "batch/hog") == 1050
}

test_spec_quota_is_a_ceiling if {
	limited := patched(hog(200), {"spec": {"cpu_quota_millicores": 200, "cpu_shares": 2}})
	calm := shield.decision with input as node_input({"shop/victim": victim(300, 0), "batch/hog": limited})
	calm.containers == {}

	pressed := shield.decision with input as node_input({"shop/victim": victim(500, 200), "batch/hog": limited})
	quota_of(pressed, "batch/hog") == 200
}
