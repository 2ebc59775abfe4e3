package traces

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/agent"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
)

// maxJaegerPacket is the largest datagram Jaeger clients send (and the
// Jaeger agent reads); it also caps every length inside a packet, so a
// forged length cannot make the decoder allocate more than the packet.
const maxJaegerPacket = 65000

var jaegerThriftConfig = &thrift.TConfiguration{
	MaxMessageSize: maxJaegerPacket,
	MaxFrameSize:   maxJaegerPacket,
}

const emitBatch = "emitBatch"

// decodeJaegerCompact decodes one 6831/udp datagram: Agent.emitBatch in
// Thrift's compact protocol.
func decodeJaegerCompact(packet []byte) (*jaeger.Batch, error) {
	buf := &thrift.TMemoryBuffer{Buffer: bytes.NewBuffer(packet)}
	return decodeEmitBatch(thrift.NewTCompactProtocolConf(buf, jaegerThriftConfig))
}

// decodeJaegerBinary decodes one 6832/udp datagram: Agent.emitBatch in
// Thrift's binary protocol.
func decodeJaegerBinary(packet []byte) (*jaeger.Batch, error) {
	buf := &thrift.TMemoryBuffer{Buffer: bytes.NewBuffer(packet)}
	return decodeEmitBatch(thrift.NewTBinaryProtocolConf(buf, jaegerThriftConfig))
}

func decodeEmitBatch(p thrift.TProtocol) (*jaeger.Batch, error) {
	ctx := context.Background()
	name, kind, _, err := p.ReadMessageBegin(ctx)
	if err != nil {
		return nil, fmt.Errorf("decode Jaeger thrift message header: %w", err)
	}
	if name != emitBatch || (kind != thrift.ONEWAY && kind != thrift.CALL) {
		return nil, fmt.Errorf("decode Jaeger thrift: message %q of type %d, want oneway %s", name, kind, emitBatch)
	}
	args := agent.NewAgentEmitBatchArgs()
	if err := args.Read(ctx, p); err != nil {
		return nil, fmt.Errorf("decode Jaeger %s: %w", emitBatch, err)
	}
	if err := p.ReadMessageEnd(ctx); err != nil {
		return nil, fmt.Errorf("decode Jaeger %s end: %w", emitBatch, err)
	}
	if args.Batch == nil || args.Batch.Process == nil {
		return nil, fmt.Errorf("decode Jaeger %s: batch without a process", emitBatch)
	}
	return args.Batch, nil
}

// spansFromJaeger appends the spans of batch to out; invalid ones are
// counted and left out.
func spansFromJaeger(batch *jaeger.Batch, out []Span) (_ []Span, invalid int) {
	service := batch.GetProcess().GetServiceName()
	for _, s := range batch.GetSpans() {
		span, err := spanFromJaeger(s, service)
		if err != nil {
			invalid++
			continue
		}
		out = append(out, span)
	}
	return out, invalid
}

func spanFromJaeger(s *jaeger.Span, service string) (Span, error) {
	if s == nil {
		return Span{}, fmt.Errorf("%w: nil span", errInvalidSpan)
	}
	span := Span{
		Trace:   jaegerTraceID(s.TraceIdHigh, s.TraceIdLow),
		ID:      jaegerSpanID(s.SpanId),
		Parent:  jaegerSpanID(jaegerParent(s)),
		Service: service,
		Name:    s.OperationName,
	}
	if span.Trace.IsZero() || span.ID.IsZero() {
		return Span{}, fmt.Errorf("%w: trace %s span %s", errInvalidSpan, span.Trace, span.ID)
	}
	// Jaeger times are microseconds since the epoch.
	if s.Duration < 0 || s.Duration > maxSpanDuration.Microseconds() || s.StartTime < 0 || s.StartTime > maxUnixNano/1000 {
		return Span{}, fmt.Errorf("%w: start %dµs duration %dµs", errInvalidSpan, s.StartTime, s.Duration)
	}
	span.Start = time.UnixMicro(s.StartTime)
	span.Duration = time.Duration(s.Duration) * time.Microsecond
	span.Kind, span.Error = jaegerKindAndError(s.Tags)
	return span, nil
}

// jaegerParent is the parent span id, which newer clients put only in a
// CHILD_OF reference.
func jaegerParent(s *jaeger.Span) int64 {
	if s.ParentSpanId != 0 {
		return s.ParentSpanId
	}
	for _, ref := range s.References {
		if ref != nil && ref.RefType == jaeger.SpanRefType_CHILD_OF &&
			ref.TraceIdHigh == s.TraceIdHigh && ref.TraceIdLow == s.TraceIdLow {
			return ref.SpanId
		}
	}
	return 0
}

func jaegerTraceID(high, low int64) TraceID {
	var id TraceID
	binary.BigEndian.PutUint64(id[:8], uint64(high))
	binary.BigEndian.PutUint64(id[8:], uint64(low))
	return id
}

func jaegerSpanID(v int64) SpanID {
	var id SpanID
	binary.BigEndian.PutUint64(id[:], uint64(v))
	return id
}

// jaegerKindAndError reads the OpenTracing conventions: the span.kind tag,
// and an error tag that is true, or the OpenTelemetry status carried as a
// tag by bridges.
func jaegerKindAndError(tags []*jaeger.Tag) (Kind, bool) {
	kind, failed := KindUnspecified, false
	for _, t := range tags {
		if t == nil {
			continue
		}
		switch t.Key {
		case "span.kind":
			kind = kindFromName(t.GetVStr())
		case "error":
			failed = failed || t.GetVBool() || strings.EqualFold(t.GetVStr(), "true")
		case "otel.status_code":
			failed = failed || t.GetVStr() == "ERROR"
		}
	}
	return kind, failed
}

func kindFromName(name string) Kind {
	for k, n := range kindNames {
		if n == name {
			return Kind(k)
		}
	}
	return KindUnspecified
}
