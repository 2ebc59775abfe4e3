package policies

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/sluice-io/sluice/state"
)

// policyOutput is what the policy's decision rule produces; the engine adds
// the node, revision, time and digest.
type policyOutput struct {
	Containers map[string]state.ContainerDecision
	Reasons    []state.Reason
	Carry      map[string]any
}

// parseOutput converts the decision rule's value straight from OPA's AST
// (see rego.GenerateJSON in prepare), rejecting unknown fields so that a
// typo in a policy ("cpu_quota") is an error, not a setting silently
// dropped.
func parseOutput(value ast.Value) (policyOutput, error) {
	var out policyOutput
	fields, err := objectFields(value)
	if err != nil {
		return out, fmt.Errorf("decision: %w", err)
	}
	for _, key := range state.SortedKeys(fields) {
		field := fields[key]
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

// objectFields maps an object's string keys to their values.
func objectFields(value ast.Value) (map[string]ast.Value, error) {
	obj, ok := value.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("want an object, got %s", ast.ValueName(value))
	}
	fields := make(map[string]ast.Value, obj.Len())
	var err error
	obj.Foreach(func(k, v *ast.Term) {
		name, ok := k.Value.(ast.String)
		if !ok {
			err = fmt.Errorf("key %v: want a string", k)
			return
		}
		fields[string(name)] = v.Value
	})
	return fields, err
}

func parseContainers(value ast.Value) (map[string]state.ContainerDecision, error) {
	fields, err := objectFields(value)
	if err != nil {
		return nil, fmt.Errorf("want an object keyed by container ID: %w", err)
	}
	out := make(map[string]state.ContainerDecision, len(fields))
	for _, id := range state.SortedKeys(fields) {
		d, err := parseContainerDecision(fields[id])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		out[id] = d
	}
	return out, nil
}

func parseContainerDecision(value ast.Value) (state.ContainerDecision, error) {
	var d state.ContainerDecision
	fields, err := objectFields(value)
	if err != nil {
		return d, err
	}
	for _, key := range state.SortedKeys(fields) {
		field := fields[key]
		if _, isNull := field.(ast.Null); isNull {
			continue // null reads as "not set", like an absent field
		}
		number, err := toFloat(field)
		if err != nil {
			return d, fmt.Errorf("%s: %w", key, err)
		}
		switch key {
		case "cpu_quota_millicores":
			cores := number / 1000
			d.CPUQuotaCores = &cores
		case "net_mbit":
			d.NetMbit = &number
		case "cpu_shares":
			if number != math.Trunc(number) || number < 0 || number > math.MaxUint32 {
				return d, fmt.Errorf("%s: want a whole number, got %v", key, field)
			}
			shares := uint64(number)
			d.CPUShares = &shares
		default:
			return d, fmt.Errorf("%s: unknown field (want cpu_quota_millicores, cpu_shares, net_mbit)", key)
		}
	}
	return d, nil
}

func parseReasons(value ast.Value) ([]state.Reason, error) {
	var items []*ast.Term
	switch list := value.(type) {
	case ast.Set:
		items = list.Slice()
	case *ast.Array:
		for i := range list.Len() {
			items = append(items, list.Elem(i))
		}
	default:
		return nil, fmt.Errorf("want an array or set, got %s", ast.ValueName(value))
	}
	reasons := make([]state.Reason, 0, len(items))
	for i, item := range items {
		r, err := parseReason(item.Value)
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

func parseReason(value ast.Value) (state.Reason, error) {
	var r state.Reason
	fields, err := objectFields(value)
	if err != nil {
		return r, err
	}
	for _, key := range state.SortedKeys(fields) {
		field := fields[key]
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

func parseValues(value ast.Value) (map[string]float64, error) {
	fields, err := objectFields(value)
	if err != nil {
		return nil, fmt.Errorf("want an object of numbers: %w", err)
	}
	if len(fields) == 0 {
		return nil, nil
	}
	out := make(map[string]float64, len(fields))
	for _, key := range state.SortedKeys(fields) {
		number, err := toFloat(fields[key])
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
func parseCarry(value ast.Value) (map[string]any, error) {
	if _, isNull := value.(ast.Null); isNull {
		return nil, nil
	}
	if _, ok := value.(ast.Object); !ok {
		return nil, fmt.Errorf("want an object, got %s", ast.ValueName(value))
	}
	plain, err := ast.JSON(value)
	if err != nil {
		return nil, err
	}
	normal, err := normalizeJSON(plain)
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
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %s does not fit a float64", v)
		}
		return f, nil
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

func toFloat(value ast.Value) (float64, error) {
	number, ok := value.(ast.Number)
	if !ok {
		return 0, fmt.Errorf("want a number, got %s", ast.ValueName(value))
	}
	f, ok := number.Float64()
	if !ok || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("number %s does not fit a float64", number)
	}
	return f, nil
}

func toString(value ast.Value) (string, error) {
	s, ok := value.(ast.String)
	if !ok {
		return "", fmt.Errorf("want a string, got %s", ast.ValueName(value))
	}
	return string(s), nil
}

func int64Number(i int64) json.Number { return json.Number(strconv.FormatInt(i, 10)) }

func uint64Number(u uint64) json.Number { return json.Number(strconv.FormatUint(u, 10)) }
