package sluice.shield_test

import data.sluice.shield

# ---------------------------------------------------------------------------
# Fixtures: one CPU, a latency-critical victim and a best-effort hog.

victim(usage, wait) := {
	"app": "shop", "name": "victim", "class": "latency-critical",
	"cpuset": "0", "cpus": [0], "in_spec": true, "observed": true, "spec": {},
	"usage_cores": usage, "wait_cores": wait, "throttled_seconds": 0,
}

hog(usage) := {
	"app": "batch", "name": "hog", "class": "best-effort",
	"cpuset": "0", "cpus": [0], "in_spec": true, "observed": true, "spec": {},
	"usage_cores": usage, "wait_cores": 1 - usage, "throttled_seconds": 0,
}

capped_hog(usage, quota) := object.union(hog(usage), {
	"quota_cores": quota,
	"throttled_seconds": 0.05,
})

node_input(containers) := {
	"node": {"name": "node-1", "cpus": 1, "memory_bytes": 0, "net_mbit": 0, "labels": {}},
	"observation": {"time": "2030-01-02T03:04:05Z", "interval_seconds": 0.25, "host": {"cpus": 1, "cpu_usage_cores": 1}},
	"containers": containers,
}

with_carry(base, victims) := object.union(base, {"previous": {
	"revision": 41, "time": "2030-01-02T03:04:04.75Z", "bundle_digest": "sha256:test",
	"containers": {}, "carry": {"victims": victims},
}})

near(a, b) if abs(a - b) < 0.0001

rules_for(d, container) := {r.rule | some r in d.reasons; r.container == container}

# ---------------------------------------------------------------------------
# Shield, track, release, unshield.

test_no_neighbour_no_cap if {
	d := shield.decision with input as node_input({"shop/victim": victim(0.7, 0.3)})
	d.containers == {"shop/victim": {}}
	count(d.reasons) == 0
}

test_no_pressure_no_cap if {
	d := shield.decision with input as node_input({"shop/victim": victim(0.3, 0), "batch/hog": hog(0.7)})
	not d.containers["batch/hog"].cpu_quota_cores
	count(d.reasons) == 0
	near(d.carry.victims["shop/victim"].wanted_now, 0.3)
	not d.carry.victims["shop/victim"].budget
}

test_pressure_caps_the_hog_to_what_the_victim_leaves_free if {
	d := shield.decision with input as node_input({"shop/victim": victim(0.5, 0.2), "batch/hog": hog(0.5)})

	# 1 core − 0.7 wanted − 0.03 headroom
	near(d.containers["batch/hog"].cpu_quota_cores, 0.27)
	not d.containers["shop/victim"].cpu_quota_cores
	rules_for(d, "shop/victim") == {"shield"}
	rules_for(d, "batch/hog") == {"cap"}
	near(d.carry.victims["shop/victim"].budget, 0.27)
}

test_shield_reason_names_the_values if {
	d := shield.decision with input as node_input({"shop/victim": victim(0.5, 0.2), "batch/hog": hog(0.5)})
	some r in d.reasons
	r.rule == "shield"
	near(r.values.satisfaction, 0.7143)
	near(r.values.wait_cores, 0.2)
	near(r.values.wanted_cores, 0.7)
	near(r.values.budget_cores, 0.27)
	contains(r.message, "satisfaction 0.714")
	contains(r.message, "batch/hog")
}

test_a_little_wait_is_not_pressure if {
	d := shield.decision with input as node_input({"shop/victim": victim(0.1, 0.01), "batch/hog": hog(0.89)})
	not d.containers["batch/hog"].cpu_quota_cores
}

test_backlog_is_pressure if {
	v := object.union(victim(0.5, 0), {"work": {"arrived": 0.125, "served": 0.125, "backlog": 0.1}})
	d := shield.decision with input as node_input({"shop/victim": v, "batch/hog": hog(0.5)})

	# wanted = 0.125/0.25 + 0.1/0.5 = 0.7
	near(d.containers["batch/hog"].cpu_quota_cores, 0.27)
	some r in d.reasons
	r.rule == "shield"
	contains(r.message, "backlog")
}

test_work_queue_demand_beats_usage if {
	v := object.union(victim(0.4, 0.1), {"work": {"arrived": 0.2, "served": 0.1, "backlog": 0.1}})
	d := shield.decision with input as node_input({"shop/victim": v, "batch/hog": hog(0.6)})

	# max(0.5, 0.2/0.25 + 0.1/0.5 = 1.0) leaves nothing: the floor holds.
	near(d.carry.victims["shop/victim"].wanted_now, 1)
	near(d.containers["batch/hog"].cpu_quota_cores, 0.05)
}

test_rising_demand_adds_its_rise if {
	doc := with_carry(
		node_input({"shop/victim": victim(0.5, 0.1), "batch/hog": hog(0.5)}),
		{"shop/victim": {"wanted_now": 0.5}},
	)
	d := shield.decision with input as doc

	# wanted 0.6 + rise 0.1: 1 − 0.7 − 0.03
	near(d.containers["batch/hog"].cpu_quota_cores, 0.27)
}

test_track_follows_a_falling_demand_while_the_hog_presses if {
	doc := with_carry(
		node_input({"shop/victim": victim(0.3, 0), "batch/hog": capped_hog(0.4, 0.4)}),
		{"shop/victim": {"wanted_now": 0.5, "budget": 0.4}},
	)
	d := shield.decision with input as doc
	near(d.containers["batch/hog"].cpu_quota_cores, 0.67)
	rules_for(d, "shop/victim") == {"track"}
}

test_release_steps_up_when_nothing_contends if {
	idle_hog := object.union(hog(0.1), {"quota_cores": 0.3})
	doc := with_carry(
		node_input({"shop/victim": victim(0.8, 0), "batch/hog": idle_hog}),
		{"shop/victim": {"wanted_now": 0.8, "budget": 0.3}},
	)
	d := shield.decision with input as doc

	# max(tracking 1 − 0.8 − 0.03, 0.3 + release step 0.1)
	near(d.containers["batch/hog"].cpu_quota_cores, 0.4)
	rules_for(d, "shop/victim") == {"release"}
}

test_release_never_goes_below_what_the_victim_leaves_free if {
	idle_hog := object.union(hog(0.1), {"quota_cores": 0.3})
	doc := with_carry(
		node_input({"shop/victim": victim(0.1, 0), "batch/hog": idle_hog}),
		{"shop/victim": {"wanted_now": 0.1, "budget": 0.3}},
	)
	d := shield.decision with input as doc
	near(d.containers["batch/hog"].cpu_quota_cores, 0.87)
}

test_unshield_drops_the_cap_past_capacity if {
	idle_hog := object.union(hog(0.1), {"quota_cores": 0.95})
	doc := with_carry(
		node_input({"shop/victim": victim(0.02, 0), "batch/hog": idle_hog}),
		{"shop/victim": {"wanted_now": 0.02, "budget": 0.95}},
	)
	d := shield.decision with input as doc
	d.containers["batch/hog"] == {}
	rules_for(d, "shop/victim") == {"unshield"}
	not d.carry.victims["shop/victim"].budget
}

# ---------------------------------------------------------------------------
# CPU sets, several neighbours, spec limits.

test_disjoint_cpus_do_not_contend if {
	far_hog := object.union(hog(1), {"cpuset": "1", "cpus": [1]})
	doc := object.union(node_input({"shop/victim": victim(0.5, 0.5), "batch/hog": far_hog}), {"node": {"cpus": 2}})
	d := shield.decision with input as doc
	count(d.reasons) == 0
	d.containers["batch/hog"] == {}
}

test_budget_is_split_and_unshared_cpus_kept if {
	wide_hog := object.union(hog(1.5), {"name": "wide", "cpuset": "0-1", "cpus": [0, 1]})
	doc := object.union(
		node_input({"shop/victim": victim(0.5, 0.2), "batch/hog": hog(0.3), "batch/wide": wide_hog}),
		{"node": {"cpus": 2}},
	)
	d := shield.decision with input as doc

	# (1 − 0.7 − 0.03) / 2 each, and the wide one keeps CPU 1 whole.
	near(d.containers["batch/hog"].cpu_quota_cores, 0.135)
	near(d.containers["batch/wide"].cpu_quota_cores, 1.135)
}

test_spec_quota_is_a_ceiling if {
	limited := object.union(hog(0.2), {"spec": {"cpu_quota_cores": 0.2, "cpu_shares": 2}})
	calm := shield.decision with input as node_input({"shop/victim": victim(0.3, 0), "batch/hog": limited})
	calm.containers["batch/hog"] == {"cpu_quota_cores": 0.2, "cpu_shares": 2}

	pressed := shield.decision with input as node_input({"shop/victim": victim(0.5, 0.2), "batch/hog": limited})
	near(pressed.containers["batch/hog"].cpu_quota_cores, 0.2)
}

test_every_container_gets_a_decision if {
	d := shield.decision with input as node_input({"shop/victim": victim(0.5, 0.2), "batch/hog": hog(0.5)})
	object.keys(d.containers) == {"shop/victim", "batch/hog"}
}
