package clusterbench

import (
	"encoding/json"

	"github.com/sluice-io/sluice/state"
)

// NodeApps is a realistic mix for one node: a latency-critical service and
// a CPU hog sharing CPU 0, and a batch job on CPU 1.
func NodeApps() []state.AppSpec {
	return []state.AppSpec{
		{Name: "web", Containers: []state.ContainerSpec{{
			Name: "server", Image: "sluice/sineload:dev", Class: state.LatencyCritical, CPUSet: "0",
			Demand: &state.DemandSpec{Kind: "sine", Base: 0.5, Amplitude: 0.3, PeriodSeconds: 20},
		}}},
		{Name: "hog", Containers: []state.ContainerSpec{{
			Name: "cpuhog", Image: "sluice/cpuhog:dev", Class: state.BestEffort, CPUSet: "0",
			Demand: &state.DemandSpec{Kind: "constant", Value: 1},
		}}},
		{Name: "batch", Containers: []state.ContainerSpec{{
			Name: "worker", Image: "sluice/cpuhog:dev", Class: state.BestEffort, CPUSet: "1",
			Demand: &state.DemandSpec{Kind: "square", Base: 0.5, Amplitude: 0.4, PeriodSeconds: 30},
		}}},
	}
}

// PinOps are the puts that pin NodeApps to each of nodes, as `sluice
// apply` would, in transactions within etcd's limits (state.TxnBatched).
func PinOps(nodes []string) ([]state.Op, error) {
	var ops []state.Op
	for _, node := range nodes {
		for _, spec := range NodeApps() {
			spec.Node = node
			value, err := json.Marshal(spec)
			if err != nil {
				return nil, err
			}
			ops = append(ops, state.Put(state.Keys.App(node, spec.Name), value))
		}
	}
	return ops, nil
}
