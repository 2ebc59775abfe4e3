package policies

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/sluice-io/sluice/state"
)

// policyOutput is what the policy's decision rule produces; the engine adds
// the node, revision, time and digest.
type policyOutput struct {
	Containers map[string]state.ContainerDecision
	Reasons    []state.Reason
	Carry      map[string]any
}

// parseOutput converts the decision rule's value (as OPA hands it over:
// maps, slices, json.Number) without a JSON round trip, rejecting unknown
// fields so that a typo in a policy ("cpu_quota") is an error instead of a
// setting silently dropped.
func parseOutput(value any) (policyOutput, error) {
	var out policyOutput
	obj, ok := value.(map[string]any)
	if !ok {
		return out, fmt.Errorf("decision: want an object, got %s", typeName(value))
	}
	for _, key := range state.SortedKeys(obj) {
		field := obj[key]
		var err error
		switch key {
		case "containers":
			out.Containers, err = parseContainers(field)
		case "reasons":
			out.Reasons, err = parseReasons(field)
		case "carry":
			out.Carry, err = parseCarry(field)
		default:
			err = fmt.Errorf("unknown field (want containers, reasons, carry)")
		}
		if err != nil {
			return out, fmt.Errorf("decision.%s: %w", key, err)
		}
	}
	if out.Containers == nil {
		out.Containers = map[string]state.ContainerDecision{}
	}
	if out.Reasons == nil {
		out.Reasons = []state.Reason{}
	}
	return out, nil
}

func parseContainers(value any) (map[string]state.ContainerDecision, error) {
	obj, ok := value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want an object keyed by container ID, got %s", typeName(value))
	}
	out := make(map[string]state.ContainerDecision, len(obj))
	for _, id := range state.SortedKeys(obj) {
		field := obj[id]
		d, err := parseContainerDecision(field)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		out[id] = d
	}
	return out, nil
}

func parseContainerDecision(value any) (state.ContainerDecision, error) {
	var d state.ContainerDecision
	obj, ok := value.(map[string]any)
	if !ok {
		return d, fmt.Errorf("want an object, got %s", typeName(value))
	}
	for _, key := range state.SortedKeys(obj) {
		field := obj[key]
		if field == nil {
			continue // null reads as "not set", like an absent field
		}
		number, err := toFloat(field)
		if err != nil {
			return d, fmt.Errorf("%s: %w", key, err)
		}
		switch key {
		case "cpu_quota_cores":
			d.CPUQuotaCores = &number
		case "net_mbit":
			d.NetMbit = &number
		case "cpu_shares":
			if number != math.Trunc(number) || number < 0 || number > math.MaxUint32 {
				return d, fmt.Errorf("%s: want a whole number, got %v", key, field)
			}
			shares := uint64(number)
			d.CPUShares = &shares
		default:
			return d, fmt.Errorf("%s: unknown field (want cpu_quota_cores, cpu_shares, net_mbit)", key)
		}
	}
	return d, nil
}

func parseReasons(value any) ([]state.Reason, error) {
	list, ok := value.([]any)
	if !ok {
		return nil, fmt.Errorf("want an array or set, got %s", typeName(value))
	}
	reasons := make([]state.Reason, 0, len(list))
	for i, item := range list {
		r, err := parseReason(item)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		reasons = append(reasons, r)
	}
	// A Rego set carries no order a reader should depend on; sorting makes
	// the recorded decision byte-identical from one evaluation to the next.
	sort.SliceStable(reasons, func(i, j int) bool {
		a, b := reasons[i], reasons[j]
		if a.Container != b.Container {
			return a.Container < b.Container
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
	return reasons, nil
}

func parseReason(value any) (state.Reason, error) {
	var r state.Reason
	obj, ok := value.(map[string]any)
	if !ok {
		return r, fmt.Errorf("want an object, got %s", typeName(value))
	}
	for _, key := range state.SortedKeys(obj) {
		field := obj[key]
		var err error
		switch key {
		case "rule":
			r.Rule, err = toString(field)
		case "container":
			r.Container, err = toString(field)
		case "message":
			r.Message, err = toString(field)
		case "values":
			r.Values, err = parseValues(field)
		default:
			err = fmt.Errorf("unknown field (want rule, container, message, values)")
		}
		if err != nil {
			return r, fmt.Errorf("%s: %w", key, err)
		}
	}
	if r.Rule == "" {
		return r, fmt.Errorf("rule: required")
	}
	return r, nil
}

func parseValues(value any) (map[string]float64, error) {
	obj, ok := value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want an object of numbers, got %s", typeName(value))
	}
	if len(obj) == 0 {
		return nil, nil
	}
	out := make(map[string]float64, len(obj))
	for _, key := range state.SortedKeys(obj) {
		field := obj[key]
		number, err := toFloat(field)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out[key] = number
	}
	return out, nil
}

// parseCarry converts the carry to what a reader of the stored decision
// decodes (numbers as float64), so the decision in hand equals the one the
// next tick reads back from the log.
func parseCarry(value any) (map[string]any, error) {
	if value == nil {
		return nil, nil
	}
	if _, ok := value.(map[string]any); !ok {
		return nil, fmt.Errorf("want an object, got %s", typeName(value))
	}
	normal, err := normalizeJSON(value)
	if err != nil {
		return nil, err
	}
	carry := normal.(map[string]any)
	if len(carry) == 0 {
		return nil, nil
	}
	return carry, nil
}

func normalizeJSON(value any) (any, error) {
	switch v := value.(type) {
	case json.Number:
		return toFloat(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for _, key := range state.SortedKeys(v) {
			field := v[key]
			normal, err := normalizeJSON(field)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			out[key] = normal
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			normal, err := normalizeJSON(item)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = normal
		}
		return out, nil
	default:
		return v, nil
	}
}

func toFloat(value any) (float64, error) {
	var f float64
	var err error
	switch v := value.(type) {
	case json.Number:
		f, err = strconv.ParseFloat(string(v), 64)
	case float64:
		f = v
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	default:
		return 0, fmt.Errorf("want a number, got %s", typeName(value))
	}
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("number %v does not fit a float64", value)
	}
	return f, nil
}

func toString(value any) (string, error) {
	s, ok := value.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %s", typeName(value))
	}
	return s, nil
}

func typeName(value any) string {
	switch value.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, int, int64:
		return "a number"
	}
	return fmt.Sprintf("%T", value)
}

func int64Number(i int64) json.Number { return json.Number(strconv.FormatInt(i, 10)) }

func uint64Number(u uint64) json.Number { return json.Number(strconv.FormatUint(u, 10)) }
