package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// The workload programs and the images `make images` builds from them.
const (
	Sineload = "sineload"
	CPUHog   = "cpuhog"
	Netload  = "netload"
)

// WorkloadImage is the tag of a workload's image: "sluice/<name>:dev".
func WorkloadImage(name string) string { return "sluice/" + name + ":dev" }

// workloadBuildFlags match WORKLOAD_GOFLAGS in mk/images.mk: a static,
// stripped binary is all a FROM scratch image holds.
var workloadBuildFlags = []string{"-trimpath", "-ldflags=-s -w"}

// BuildWorkloadImage builds the workload name (cmd/<name> of the module at
// moduleRoot) into WorkloadImage(name), the way `make images` does: a
// static binary (CGO_ENABLED=0) and images/<name>/Dockerfile in a context
// holding nothing else, through the classic builder. It returns the tag.
// Tests call it so that they never depend on images built by hand.
func (r *Runtime) BuildWorkloadImage(ctx context.Context, moduleRoot, name string) (string, error) {
	tag := WorkloadImage(name)
	dockerfile, err := os.ReadFile(filepath.Join(moduleRoot, "images", name, "Dockerfile"))
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", tag, err)
	}
	binary, err := buildStatic(ctx, moduleRoot, name)
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", tag, err)
	}
	buildContext, err := tarContext(map[string][]byte{"Dockerfile": dockerfile, name: binary})
	if err != nil {
		return "", fmt.Errorf("build image %s: pack the build context: %w", tag, err)
	}
	res, err := r.cli.ImageBuild(ctx, buildContext, client.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", tag, err)
	}
	defer res.Body.Close()
	if err := buildOutcome(res.Body); err != nil {
		return "", fmt.Errorf("build image %s: %w", tag, err)
	}
	return tag, nil
}

// buildOutcome reads a build's progress stream to its end: the build's own
// failures arrive inside the stream, not as an error of the request.
func buildOutcome(stream io.Reader) error {
	dec := json.NewDecoder(stream)
	var log strings.Builder
	for {
		var m jsonstream.Message
		err := dec.Decode(&m)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the build output: %w", err)
		}
		log.WriteString(m.Stream)
		if m.Error != nil {
			return fmt.Errorf("%w\n%s", m.Error, log.String())
		}
	}
}

// buildStatic compiles cmd/<name> without cgo and returns the binary.
func buildStatic(ctx context.Context, moduleRoot, name string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "sluice-image-"+name+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, name)
	args := append([]string{"build"}, workloadBuildFlags...)
	args = append(args, "-o", out, "./cmd/"+name)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, msg)
	}
	return os.ReadFile(out)
}

// tarContext packs files (name → content) as a build context. Every file
// is made executable, which the binary needs and the Dockerfile ignores.
func tarContext(files map[string][]byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range sortedNames(files) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(files[name]))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[name]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

func sortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
