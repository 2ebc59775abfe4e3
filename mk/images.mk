# Workload images: each is one static binary FROM scratch, so no registry
# and no base image are needed. actuators/docker builds the same images the
# same way (BuildWorkloadImage) for the tests that need them.
WORKLOADS    := sineload cpuhog netload
GO           ?= go
BIN          ?= bin
IMAGE_TAG    ?= dev
DOCKER       ?= docker
# Build flags shared with actuators/docker.workloadBuildFlags.
WORKLOAD_GOFLAGS := -trimpath -ldflags=-s\ -w

.PHONY: images $(addprefix image-,$(WORKLOADS))

## images: build sluice/{sineload,cpuhog,netload}:$(IMAGE_TAG) from bin/<name> (CGO_ENABLED=0)
images: $(addprefix image-,$(WORKLOADS))

# A static pattern rule, since make skips implicit rules for phony targets.
# The build context is a directory holding only the binary, so the daemon is
# not sent the rest of bin/. DOCKER_BUILDKIT=0 picks the classic builder,
# which every engine has (BuildKit needs the buildx plugin on the client).
$(addprefix image-,$(WORKLOADS)): image-%:
	CGO_ENABLED=0 $(GO) build $(WORKLOAD_GOFLAGS) -o $(BIN)/$* ./cmd/$*
	@rm -rf $(BIN)/image-context/$* && mkdir -p $(BIN)/image-context/$*
	cp $(BIN)/$* $(BIN)/image-context/$*/$*
	DOCKER_BUILDKIT=0 $(DOCKER) build -q -t sluice/$*:$(IMAGE_TAG) -f images/$*/Dockerfile $(BIN)/image-context/$*
