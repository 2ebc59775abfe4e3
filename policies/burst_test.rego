package sluice.shield_test

import data.sluice.shield

# ---------------------------------------------------------------------------
# Burst. Fixtures: a node of two CPUs; a latency-critical web server on
# CPU 0 whose spec limits it to 400 millicores, throttled or calm, and a
# best-effort hog beside it. Ticks are 250 ms, so 150000 µs throttled is
# 600 millicores held back.

burst_node(containers, host_usage) := object.union(node_input(containers), {
	"node": {"name": "node-1", "cpus": 2, "memory_bytes": 0, "net_mbit": 0, "labels": {}},
	"observation": {"time": "2030-01-02T03:04:05Z", "interval_seconds": 0.25, "host": {"cpus": 2, "usage_millicores": host_usage}},
})

limited(usage, throttled_us) := patched(victim(usage, 0), {
	"spec": {"cpu_quota_millicores": 400},
	"quota_millicores": 400,
	"throttled_us": throttled_us,
})

# The previous decision lent the web server the given quota.
lent_before(base, quota) := object.union(base, {"previous": {
	"revision": 41, "time": "2030-01-02T03:04:04.75Z", "bundle_digest": "sha256:test",
	"containers": {"shop/victim": {"cpu_quota_millicores": quota}}, "carry": {"victims": {}},
}})

burst_decision(doc) := d if {
	d := shield.decision with data.thresholds as thresholds with input as doc
}

test_burst_lends_a_throttled_container_quota_the_node_can_spare if {
	d := burst_decision(burst_node({"shop/victim": limited(400, 150000), "batch/hog": hog(600)}, 1000))

	# usage 400 + 600 held back + 100 headroom, at most its one CPU; the
	# node lends it up to 2000 - 400 committed - 200 headroom.
	quota_of(d, "shop/victim") == 1000
	rules_for(d, "shop/victim") == {"burst"}
	d.containers["batch/hog"] == {"cpu_shares": 2}
}

# Usage 500 + 4 held back + 100 headroom is less than the 600 it had plus a
# step.
test_burst_grows_by_a_step_at_least if {
	doc := lent_before(burst_node({"shop/victim": limited(500, 1000), "batch/hog": hog(500)}, 1000), 600)
	quota_of(burst_decision(doc), "shop/victim") == 700
}

test_burst_needs_more_than_a_trace_of_throttling if {
	d := burst_decision(burst_node({"shop/victim": limited(300, 999), "batch/hog": hog(700)}, 1000))
	not d.containers["shop/victim"]
	rules_for(d, "shop/victim") == set()
}

test_burst_keeps_the_lent_quota_while_it_is_used if {
	doc := lent_before(burst_node({"shop/victim": limited(850, 0), "batch/hog": hog(150)}, 1000), 1000)
	quota_of(burst_decision(doc), "shop/victim") == 950
}

test_burst_returns_to_the_limit_when_calm if {
	doc := lent_before(burst_node({"shop/victim": limited(250, 0), "batch/hog": hog(750)}, 1000), 1000)
	d := burst_decision(doc)

	# Left out of the decision, the container gets its spec's quota back.
	not d.containers["shop/victim"]
	rules_for(d, "shop/victim") == {"return"}
}

test_burst_never_goes_below_the_limit if {
	doc := lent_before(burst_node({"shop/victim": limited(100, 0), "batch/hog": hog(900)}, 1000), 450)
	d := burst_decision(doc)
	not d.containers["shop/victim"]
}

test_burst_stays_within_the_node_spare_cpu if {
	# Host processes outside any container use 1200 millicores: 2000 -
	# 400 committed - 1200 - 200 headroom leaves 200 to lend.
	d := burst_decision(burst_node({"shop/victim": limited(400, 150000), "batch/hog": hog(600)}, 2200))
	quota_of(d, "shop/victim") == 600
}

test_burst_lends_nothing_without_spare_cpu if {
	doc := lent_before(burst_node({"shop/victim": limited(400, 150000), "batch/hog": hog(600)}, 2800), 800)
	d := burst_decision(doc)
	not d.containers["shop/victim"]
	rules_for(d, "shop/victim") == {"return"}
}

test_burst_splits_the_spare_cpu_so_the_sum_lent_stays_within_it if {
	other := patched(limited(400, 150000), {"cpus": [1], "contenders": {}, "contended_cpus": 0, "outside_millicores": {}})
	d := burst_decision(burst_node({"shop/victim": limited(400, 150000), "shop/other": other}, 800))

	# 2000 - 800 committed - 200 headroom = 1000 spare, 500 each.
	quota_of(d, "shop/victim") == 900
	quota_of(d, "shop/other") == 900
	(quota_of(d, "shop/victim") + quota_of(d, "shop/other")) - 800 <= 1000
}

test_burst_counts_lent_use_as_lent_not_committed if {
	# The web server uses 1000 of its lent 1000: only its limit of 400 is
	# committed, so the quota it runs on stays lent.
	doc := lent_before(burst_node({"shop/victim": limited(1000, 0), "batch/hog": hog(0)}, 1000), 1000)
	quota_of(burst_decision(doc), "shop/victim") == 1000
}

test_burst_leaves_a_container_without_a_spec_quota_alone if {
	unlimited := patched(victim(400, 0), {"throttled_us": 150000})
	d := burst_decision(burst_node({"shop/victim": unlimited, "batch/hog": hog(600)}, 1000))
	not d.containers["shop/victim"]
}

test_burst_leaves_an_unobserved_container_alone if {
	gone := patched(limited(0, 150000), {"observed": false})
	d := burst_decision(burst_node({"shop/victim": gone, "batch/hog": hog(600)}, 1000))
	not d.containers["shop/victim"]
}

test_burst_reads_no_throttling_from_an_interval_of_no_length if {
	doc := burst_node({"shop/victim": limited(400, 150000), "batch/hog": hog(600)}, 1000)
	instant := object.union(doc, {"observation": {"time": "2030-01-02T03:04:05Z", "interval_seconds": 0, "host": {"cpus": 2, "usage_millicores": 1000}}})

	# Throttled, it still grows by a step: 400 + 100.
	quota_of(burst_decision(instant), "shop/victim") == 500
}
