package reconciler

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/sluice-io/sluice/state"
)

// SpecHash is a stable digest of what a container is made of (identityOf
// its spec). The runtime labels each container with the hash it was created
// from, so the core can tell a container that still matches its spec from
// one that must be recreated. encoding/json writes struct fields in
// declaration order and map keys sorted, so equal specs always hash alike.
func SpecHash(spec state.ContainerSpec) string {
	data, err := json.Marshal(identityOf(spec))
	if err != nil {
		// A ContainerSpec holds only strings, numbers, maps and slices of
		// them; Marshal cannot fail on it. Hash the Go syntax as a fallback
		// so the result stays a function of the spec.
		data = []byte(fmt.Sprintf("%#v", spec))
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// identityOf is spec without the settings the reconciler changes on a
// running container (resourceActions): the values of its CPU quota, shares
// and cpuset and its bandwidth limit, and the SLO, which only the policy
// reads. An edit of those keeps the container, its ID and its GUID (and so
// its traces' service name). Adding or removing shares or a cpuset still
// recreates it: unset, they mean "leave alone", so the running container
// would keep the old value where a new one gets the runtime's default. A
// quota or a bandwidth limit unset means no limit, which can be applied in
// place. Memory is not an actuator's setting and recreates too.
func identityOf(spec state.ContainerSpec) state.ContainerSpec {
	if spec.CPUSet != "" {
		spec.CPUSet = "set"
	}
	if spec.Resources.CPUShares != nil {
		spec.Resources.CPUShares = new(uint64)
	}
	spec.Resources.CPUQuotaCores, spec.Resources.NetMbit, spec.SLO = nil, nil, nil
	return spec
}

// NewGUID names a container instance: the image's short name, "-", and eight
// hex digits read from random. The GUID is passed to the container as
// SLUICE_GUID and used as its trace service name, which is what binds spans
// to containers. The simulator passes a seeded source so runs repeat; the
// agent passes crypto/rand.
func NewGUID(image string, random io.Reader) (string, error) {
	var suffix [4]byte
	if _, err := io.ReadFull(random, suffix[:]); err != nil {
		return "", fmt.Errorf("read random GUID suffix for image %q: %w", image, err)
	}
	return imageShortName(image) + "-" + hex.EncodeToString(suffix[:]), nil
}

// imageShortName turns "registry:5000/team/sine-load:1.2@sha256:..." into
// "sine-load": the part a person recognises, in characters a service name
// may hold.
func imageShortName(image string) string {
	name, _, _ := strings.Cut(image, "@")
	if slash := strings.LastIndex(name, "/"); slash >= 0 {
		name = name[slash+1:]
	}
	name, _, _ = strings.Cut(name, ":")
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	if b.Len() == 0 {
		return "container"
	}
	return b.String()
}
