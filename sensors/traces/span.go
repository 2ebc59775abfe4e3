package traces

import (
	"encoding/hex"
	"time"
)

// TraceID and SpanID are the W3C/OTLP identifiers. Jaeger's 64-bit trace
// ids are widened with zeros in the high half, as Jaeger itself does.
type (
	TraceID [16]byte
	SpanID  [8]byte
)

func (t TraceID) String() string { return hex.EncodeToString(t[:]) }
func (s SpanID) String() string  { return hex.EncodeToString(s[:]) }

// IsZero reports an absent id: a span whose parent is zero is a root.
func (s SpanID) IsZero() bool { return s == SpanID{} }

// IsZero reports an invalid trace id, which OTLP forbids.
func (t TraceID) IsZero() bool { return t == TraceID{} }

// Kind is a span's role, as OTLP names it.
type Kind uint8

const (
	KindUnspecified Kind = iota
	KindInternal
	KindServer
	KindClient
	KindProducer
	KindConsumer
)

var kindNames = [...]string{"unspecified", "internal", "server", "client", "producer", "consumer"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Span is the part of a received span that latency needs. Receivers fill
// everything up to Error; the core fills the binding from Service.
type Span struct {
	Trace  TraceID
	ID     SpanID
	Parent SpanID
	// Service is the emitter's service name: a container's SLUICE_GUID.
	Service  string
	Name     string
	Kind     Kind
	Start    time.Time
	Duration time.Duration
	Error    bool
}

// Binding ties a service name to the container that emits it.
type Binding struct {
	App       string
	Container string // state.ContainerID: "<app>/<name>"
}

// Resolver finds the container whose GUID is service. It is called from
// the core's goroutine, so an implementation updated elsewhere must be
// safe for concurrent use (Directory is).
type Resolver func(service string) (Binding, bool)
