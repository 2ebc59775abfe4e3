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
// dropped. It walks the AST in place: objects iterate in key order, so
// errors come in the same order on every run.
func parseOutput(value ast.Value) (policyOutput, error) {
	var out policyOutput
	err := eachField(value, func(key string, field ast.Value) error {
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
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("decision%s", fieldPath(err))
	}
	if out.Containers == nil {
		out.Containers = map[string]state.ContainerDecision{}
	}
	if out.Reasons == nil {
		out.Reasons = []state.Reason{}
	}
	return out, nil
}

// fieldPath renders an error from eachField's callback as ".field: why",
// and an error about the value itself as ": why".
func fieldPath(err error) string {
	if _, aboutTheValue := err.(*shapeError); aboutTheValue {
		return ": " + err.Error()
	}
	return "." + err.Error()
}

// shapeError says a value is not the object (or object key) it should be.
type shapeError struct{ msg string }

func (e *shapeError) Error() string { return e.msg }

// eachField calls f with each string key of an object and its value, in
// key order, and stops at the first error.
func eachField(value ast.Value, f func(key string, field ast.Value) error) error {
	obj, ok := value.(ast.Object)
	if !ok {
		return &shapeError{fmt.Sprintf("want an object, got %s", ast.ValueName(value))}
	}
	return obj.Iter(func(k, v *ast.Term) error {
		name, ok := k.Value.(ast.String)
		if !ok {
			return &shapeError{fmt.Sprintf("key %v: want a string", k)}
		}
		return f(string(name), v.Value)
	})
}

func parseContainers(value ast.Value) (map[string]state.ContainerDecision, error) {
	obj, ok := value.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("want an object keyed by container ID: want an object, got %s", ast.ValueName(value))
	}
	out := make(map[string]state.ContainerDecision, obj.Len())
	err := eachField(obj, func(id string, field ast.Value) error {
		d, err := parseContainerDecision(field)
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		out[id] = d
		return nil
	})
	if _, aboutTheValue := err.(*shapeError); aboutTheValue {
		return nil, fmt.Errorf("want an object keyed by container ID: %w", err)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func parseContainerDecision(value ast.Value) (state.ContainerDecision, error) {
	var d state.ContainerDecision
	err := eachField(value, func(key string, field ast.Value) error {
		if _, isNull := field.(ast.Null); isNull {
			return nil // null reads as "not set", like an absent field
		}
		number, err := toFloat(field)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		switch key {
		case "cpu_quota_millicores":
			cores := number / 1000
			d.CPUQuotaCores = &cores
		case "net_mbit":
			d.NetMbit = &number
		case "cpu_shares":
			if number != math.Trunc(number) || number < 0 || number > math.MaxUint32 {
				return fmt.Errorf("%s: want a whole number, got %v", key, field)
			}
			shares := uint64(number)
			d.CPUShares = &shares
		default:
			return fmt.Errorf("%s: unknown field (want cpu_quota_millicores, cpu_shares, net_mbit)", key)
		}
		return nil
	})
	return d, err
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
	err := eachField(value, func(key string, field ast.Value) error {
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
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	if r.Rule == "" {
		return r, fmt.Errorf("rule: required")
	}
	return r, nil
}

func parseValues(value ast.Value) (map[string]float64, error) {
	obj, ok := value.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("want an object of numbers: want an object, got %s", ast.ValueName(value))
	}
	if obj.Len() == 0 {
		return nil, nil
	}
	out := make(map[string]float64, obj.Len())
	err := eachField(obj, func(key string, field ast.Value) error {
		number, err := toFloat(field)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		out[key] = number
		return nil
	})
	if _, aboutTheValue := err.(*shapeError); aboutTheValue {
		return nil, fmt.Errorf("want an object of numbers: %w", err)
	}
	return out, err
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
	plain, err := plainJSON(value)
	if err != nil {
		return nil, err
	}
	carry := plain.(map[string]any)
	if len(carry) == 0 {
		return nil, nil
	}
	return carry, nil
}

// plainJSON converts a value to the Go values encoding/json decodes it to
// (numbers as float64, sets as arrays in order), as a reader of the log
// would see it.
func plainJSON(value ast.Value) (any, error) {
	switch v := value.(type) {
	case ast.Null:
		return nil, nil
	case ast.Boolean:
		return bool(v), nil
	case ast.String:
		return string(v), nil
	case ast.Number:
		f, ok := v.Float64()
		if !ok || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %s does not fit a float64", v)
		}
		return f, nil
	case *ast.Array:
		out := make([]any, v.Len())
		for i := range out {
			item, err := plainJSON(v.Elem(i).Value)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = item
		}
		return out, nil
	case ast.Set:
		items := v.Slice()
		out := make([]any, len(items))
		for i, item := range items {
			plain, err := plainJSON(item.Value)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = plain
		}
		return out, nil
	case ast.Object:
		out := make(map[string]any, v.Len())
		err := v.Iter(func(k, field *ast.Term) error {
			key, err := jsonKey(k.Value)
			if err != nil {
				return err
			}
			plain, err := plainJSON(field.Value)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			out[key] = plain
			return nil
		})
		return out, err
	default:
		return nil, fmt.Errorf("%s is not JSON", ast.ValueName(value))
	}
}

// jsonKey is an object key as JSON has it: a string key as it is, any
// other key in its JSON encoding, as OPA's own conversion does.
func jsonKey(k ast.Value) (string, error) {
	if s, ok := k.(ast.String); ok {
		return string(s), nil
	}
	plain, err := ast.JSON(k)
	if err != nil {
		return "", err
	}
	encoded, err := json.Marshal(plain)
	if err != nil {
		return "", fmt.Errorf("key %v: %w", k, err)
	}
	return string(encoded), nil
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
