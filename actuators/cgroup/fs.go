package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-io/sluice/internal/cgroupfs"
)

// FS applies plans to cgroup files under Root. Tests point Root at a
// fixture tree; a real node uses cgroupfs.DefaultRoot.
//
// The writes go straight to the files rather than through the cgroups
// library's Update: Update takes an OCI resources struct and owns the order
// and the set of files it writes, so the plan computed by PlanCPU would
// not be what runs. Files are opened without O_CREATE, so
// a write to a file the kernel does not offer fails the same way in a
// fixture tree as on a node.
type FS struct {
	Root string
}

// Apply performs the writes of plan on group g in order, stopping at the
// first that fails. A file that already holds its value is left alone:
// every write to a CFS bandwidth file (period or quota) refills the
// group's quota for the current period and unthrottles it, so rewriting
// an unchanged period along with each new quota would hand a throttled
// hog a fresh slice every time its quota moves.
func (fs FS) Apply(g cgroupfs.Group, plan []Write) error {
	for _, w := range plan {
		path, err := fs.path(g, w.File)
		if err != nil {
			return err
		}
		if current, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(current)) == w.Value {
			continue
		}
		if err := writeFile(path, w.Value); err != nil {
			return fmt.Errorf("write %q to %s of %s (%s): %w", w.Value, w.Name, g, g.Version, err)
		}
	}
	return nil
}

// Read returns the contents of f in group g.
func (fs FS) Read(g cgroupfs.Group, f File) (string, error) {
	path, err := fs.path(g, f)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s of %s (%s): %w", f.Name, g, g.Version, err)
	}
	return strings.TrimSpace(string(data)), nil
}

// Exists reports whether g has a directory for controller.
func (fs FS) Exists(g cgroupfs.Group, controller string) bool {
	dir, err := g.Dir(fs.Root, controller)
	if err != nil {
		return false
	}
	info, err := os.Stat(dir)
	return err == nil && info.IsDir()
}

func (fs FS) path(g cgroupfs.Group, f File) (string, error) {
	dir, err := g.Dir(fs.Root, f.Controller)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, f.Name), nil
}

func writeFile(path, value string) error {
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = file.WriteString(value)
	if closeErr := file.Close(); err == nil {
		err = closeErr
	}
	return err
}
