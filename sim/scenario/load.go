package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/sluice-io/sluice/sim/demand"
)

// Load reads, completes and validates the scenario at path. Every error
// names the file and, where it can, the field and the phase.
func Load(path string) (*Scenario, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	s, err := Parse(raw, path)
	if err != nil {
		return nil, err
	}
	if err := s.loadAppFiles(); err != nil {
		return nil, err
	}
	s.applyDefaults()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Parse decodes a scenario from YAML (or JSON) without reading app files,
// filling defaults or validating; path only labels errors and anchors
// relative app files. Load is what a runner wants.
func Parse(raw []byte, path string) (*Scenario, error) {
	doc, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", path, err)
	}
	if err := checkFields(doc, &Scenario{}); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &Scenario{Path: path}
	if err := decodeStrict(doc, s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func decodeStrict(doc []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

// loadAppFiles reads the apps given by path, relative to the scenario file.
func (s *Scenario) loadAppFiles() error {
	for i := range s.Apps {
		file := s.Apps[i].File
		if file == "" {
			continue
		}
		if !filepath.IsAbs(file) {
			file = filepath.Join(filepath.Dir(s.Path), file)
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("%s: apps[%d]: read app spec: %w", s.Path, i, err)
		}
		if err := checkFields(raw, &s.Apps[i].Spec); err != nil {
			return fmt.Errorf("%s: apps[%d]: %s: %w", s.Path, i, file, err)
		}
		if err := decodeStrict(raw, &s.Apps[i].Spec); err != nil {
			return fmt.Errorf("%s: apps[%d]: %s: %w", s.Path, i, file, err)
		}
	}
	return s.inlineDemandFiles()
}

// inlineDemandFiles replaces every csv demand file by its rows, read
// relative to the file that names it (the app file, or the scenario for
// an inline app), so that the scenario carries its demands wherever it
// runs: in the simulator, and in a real container's $SLUICE_DEMAND.
func (s *Scenario) inlineDemandFiles() error {
	for i := range s.Apps {
		dir := filepath.Dir(s.Path)
		if file := s.Apps[i].File; file != "" {
			if !filepath.IsAbs(file) {
				file = filepath.Join(dir, file)
			}
			dir = filepath.Dir(file)
		}
		for j, c := range s.Apps[i].Spec.Containers {
			if c.Demand == nil {
				continue
			}
			inlined, err := demand.Inline(*c.Demand, os.DirFS(dir))
			if err != nil {
				return fmt.Errorf("%s: apps[%d]: container %s: %w", s.Path, i, c.Name, err)
			}
			s.Apps[i].Spec.Containers[j].Demand = &inlined
		}
	}
	return nil
}

func (s *Scenario) applyDefaults() {
	if s.TickSeconds == 0 {
		s.TickSeconds = DefaultTickSeconds
	}
	if s.PolicyDir == "" {
		s.PolicyDir = DefaultPolicyDir
	}
}
