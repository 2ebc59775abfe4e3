package scenario

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// checkFields reports the first key in doc that target's type does not know,
// with its path ("phases[2].resources[\"hog/cpuhog\"].cpu_quota"). The JSON
// decoder alone would only say `unknown field "cpu_quota"`, which leaves the
// reader hunting through the file. Keys are matched exactly, where the
// decoder would also accept other capitalisations.
func checkFields(doc []byte, target any) error {
	var tree any
	if err := json.Unmarshal(doc, &tree); err != nil {
		return err
	}
	return walkFields(tree, reflect.TypeOf(target), "")
}

var appSourceType = reflect.TypeFor[AppSource]()

func walkFields(value any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		object, ok := value.(map[string]any)
		if !ok {
			return nil // a type mismatch; the decoder words that one
		}
		if t == appSourceType {
			return walkAppSource(object, path)
		}
		return walkStruct(object, t, path)
	case reflect.Slice:
		items, ok := value.([]any)
		if !ok {
			return nil
		}
		for i, item := range items {
			if err := walkFields(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		object, ok := value.(map[string]any)
		if !ok {
			return nil
		}
		for _, key := range sortedKeys(object) {
			if err := walkFields(object[key], t.Elem(), fmt.Sprintf("%s[%s]", path, strconv.Quote(key))); err != nil {
				return err
			}
		}
	}
	return nil
}

func walkAppSource(object map[string]any, path string) error {
	if _, ok := object["file"]; !ok {
		spec, _ := appSourceType.FieldByName("Spec")
		return walkFields(object, spec.Type, path)
	}
	for _, key := range sortedKeys(object) {
		if key != "file" {
			return fmt.Errorf("%s: unknown field %q: an app given by file has only the field \"file\"", path, key)
		}
	}
	return nil
}

func walkStruct(object map[string]any, t reflect.Type, path string) error {
	fields := jsonFields(t)
	for _, key := range sortedKeys(object) {
		field, ok := fields[key]
		if !ok {
			return fmt.Errorf("%s: unknown field %q (known: %s)", fieldPath(path, ""), key, strings.Join(sortedKeys(fields), ", "))
		}
		if err := walkFields(object[key], field.Type, fieldPath(path, key)); err != nil {
			return err
		}
	}
	return nil
}

func fieldPath(parent, key string) string {
	switch {
	case parent == "" && key == "":
		return "top level"
	case parent == "":
		return key
	case key == "":
		return parent
	}
	return parent + "." + key
}

// jsonFields maps the JSON names of t's exported fields to the fields.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	fields := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f
	}
	return fields
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
