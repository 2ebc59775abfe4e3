package policies

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/sluice-io/sluice/state"
)

// DataFile is the one non-Rego file a bundle may hold: the policy's
// thresholds, mounted at the root of OPA's data document.
const DataFile = "data.json"

// ManifestFile holds what a bundle says about itself, in OPA's bundle
// format: {"revision": "..."}. `sluice policy push` writes it with the git
// commit the bundle came from. It is metadata, not policy: the digest leaves
// it out, so the same policy pushed from two commits has one digest and two
// revisions.
const ManifestFile = ".manifest"

// testSuffix marks Rego files that hold tests: they belong to the bundle
// (and its digest) but the engine never compiles them, so a decision can
// never depend on a test.
const testSuffix = "_test.rego"

// Bundle is a parsed policy bundle: Rego modules and their data.
type Bundle struct {
	// Files holds every file of the bundle by name, as loaded.
	Files map[string][]byte
	// Modules holds the parsed Rego modules by file name, tests included.
	Modules map[string]*ast.Module
	// Data is the parsed data.json (empty when the bundle has none).
	Data map[string]any
	// Digest is "sha256:<hex>" over the sorted file names and contents;
	// every decision records it.
	Digest string
	// Revision is where the bundle came from (the manifest's revision: a
	// git commit), empty when it does not say; every decision records it
	// beside the digest.
	Revision string
}

// manifest is the part of OPA's .manifest that sluice reads.
type manifest struct {
	Revision string `json:"revision"`
}

//go:embed shield.rego burst.rego data.json
var defaultFS embed.FS

// Default returns the bundle that ships with sluice: shield.rego,
// burst.rego and their data.json, without the tests.
func Default() (*Bundle, error) {
	files := map[string][]byte{}
	for _, name := range []string{"shield.rego", "burst.rego", DataFile} {
		content, err := defaultFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read embedded policy %s: %w", name, err)
		}
		files[name] = content
	}
	return LoadFiles(files)
}

// LoadDir loads the *.rego files and the optional data.json of dir. Other
// files are ignored, since a policy directory may hold Go code and docs
// too; subdirectories are not read.
func LoadDir(dir string) (*Bundle, error) {
	files, err := readBundleFiles(dir)
	if err != nil {
		return nil, err
	}
	b, err := LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("policy dir %s: %w", dir, err)
	}
	return b, nil
}

func readBundleFiles(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read policy dir: %w", err)
	}
	files := map[string][]byte{}
	for _, entry := range entries {
		if !isBundleFile(entry) {
			continue
		}
		content, err := os.ReadFile(filepath.Join(dir, entry.Name()))
		if err != nil {
			return nil, fmt.Errorf("read policy file: %w", err)
		}
		files[entry.Name()] = content
	}
	return files, nil
}

func isBundleFile(entry fs.DirEntry) bool {
	if entry.IsDir() {
		return false
	}
	name := entry.Name()
	return strings.HasSuffix(name, ".rego") || name == DataFile
}

// ErrNoRecordedPolicy is RecordedBundle's error for a recording without
// its policy.
var ErrNoRecordedPolicy = errors.New("the recording carries no policy")

// RecordedBundle is the bundle a recording carries in its header, the one
// its decisions were made with.
func RecordedBundle(rec state.Recording) (*Bundle, error) {
	if len(rec.Header.Policy) == 0 {
		return nil, ErrNoRecordedPolicy
	}
	files := make(map[string][]byte, len(rec.Header.Policy))
	for name, content := range rec.Header.Policy {
		files[name] = []byte(content)
	}
	return LoadFiles(files)
}

// LoadFiles builds a bundle from in-memory files, such as the values under
// state.PoliciesPrefix (View.Policies). Every name must be a .rego file or
// data.json: in the store a misspelt name is a mistake to report, not a
// file to skip.
func LoadFiles(files map[string][]byte) (*Bundle, error) {
	b := &Bundle{
		Files:   make(map[string][]byte, len(files)),
		Modules: map[string]*ast.Module{},
		Data:    map[string]any{},
	}
	for _, name := range state.SortedKeys(files) {
		content := files[name]
		b.Files[name] = content
		switch {
		case name == DataFile:
			data, err := parseData(content)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			b.Data = data
		case name == ManifestFile:
			var m manifest
			if err := json.Unmarshal(content, &m); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			b.Revision = m.Revision
		case strings.HasSuffix(name, ".rego"):
			module, err := ast.ParseModuleWithOpts(name, string(content), ast.ParserOptions{RegoVersion: ast.RegoV1})
			if err != nil {
				// OPA's parse errors read "file:line: code: message".
				return nil, fmt.Errorf("parse %s: %w", name, err)
			}
			b.Modules[name] = module
		default:
			return nil, fmt.Errorf("%s: not a policy file (want *.rego, %s or %s)", name, DataFile, ManifestFile)
		}
	}
	if len(b.Modules) == 0 {
		return nil, errors.New("bundle holds no .rego file")
	}
	b.Digest = Digest(files)
	return b, nil
}

// parseData decodes data.json, naming the line of a syntax error.
func parseData(content []byte) (map[string]any, error) {
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(content))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("line %d: %w", lineAt(content, syntax.Offset), err)
		}
		return nil, fmt.Errorf("decode JSON object: %w", err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	if data == nil {
		return nil, errors.New("want a JSON object, got null")
	}
	return data, nil
}

func lineAt(content []byte, offset int64) int {
	if offset > int64(len(content)) {
		offset = int64(len(content))
	}
	return 1 + bytes.Count(content[:offset], []byte("\n"))
}

// Digest is the bundle digest of files: sha256 over each name and content
// in name order, with lengths framing both so that moving bytes between a
// name and a content cannot produce the same digest. The manifest is not
// policy and does not count.
func Digest(files map[string][]byte) string {
	h := sha256.New()
	for _, name := range state.SortedKeys(files) {
		if name == ManifestFile {
			continue
		}
		fmt.Fprintf(h, "%d:%s\n%d:", len(name), name, len(files[name]))
		h.Write(files[name])
		h.Write([]byte("\n"))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Manifest is the content of a ManifestFile that records revision.
func Manifest(revision string) []byte {
	data, _ := json.Marshal(manifest{Revision: revision}) // a struct of one string always encodes
	return data
}

// policyModules are the modules the engine compiles: everything but tests.
func (b *Bundle) policyModules() map[string]*ast.Module {
	modules := map[string]*ast.Module{}
	for name, module := range b.Modules {
		if !strings.HasSuffix(name, testSuffix) {
			modules[name] = module
		}
	}
	return modules
}
