package traces

import (
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// jaegerToOTLP translates a Jaeger batch for forwarding, the way the
// OpenTelemetry collector's Jaeger receiver does in outline: the process
// becomes the resource, tags become attributes, span.kind and error become
// the span's kind and status. Logs and references beyond the parent are
// not carried.
func jaegerToOTLP(batch *jaeger.Batch) *coltracepb.ExportTraceServiceRequest {
	process := batch.GetProcess()
	resource := &resourcepb.Resource{Attributes: append(
		[]*commonpb.KeyValue{stringAttribute(serviceNameKey, process.GetServiceName())},
		jaegerAttributes(process.GetTags())...)}
	spans := make([]*tracepb.Span, 0, len(batch.GetSpans()))
	for _, s := range batch.GetSpans() {
		if s != nil {
			spans = append(spans, jaegerSpanToOTLP(s))
		}
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   resource,
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}},
	}}}
}

func jaegerSpanToOTLP(s *jaeger.Span) *tracepb.Span {
	trace := jaegerTraceID(s.TraceIdHigh, s.TraceIdLow)
	id := jaegerSpanID(s.SpanId)
	kind, failed := jaegerKindAndError(s.Tags)
	out := &tracepb.Span{
		TraceId:           trace[:],
		SpanId:            id[:],
		Name:              s.OperationName,
		Kind:              tracepb.Span_SpanKind(kind),
		StartTimeUnixNano: uint64(s.StartTime) * 1000,
		EndTimeUnixNano:   uint64(s.StartTime+s.Duration) * 1000,
		Attributes:        jaegerAttributes(s.Tags),
	}
	if p := jaegerParent(s); p != 0 {
		parent := jaegerSpanID(p)
		out.ParentSpanId = parent[:]
	}
	if failed {
		out.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR}
	}
	return out
}

func jaegerAttributes(tags []*jaeger.Tag) []*commonpb.KeyValue {
	attrs := make([]*commonpb.KeyValue, 0, len(tags))
	for _, t := range tags {
		if t == nil || t.Key == "span.kind" || t.Key == "error" {
			continue
		}
		v := &commonpb.AnyValue{}
		switch t.VType {
		case jaeger.TagType_STRING:
			v.Value = &commonpb.AnyValue_StringValue{StringValue: t.GetVStr()}
		case jaeger.TagType_DOUBLE:
			v.Value = &commonpb.AnyValue_DoubleValue{DoubleValue: t.GetVDouble()}
		case jaeger.TagType_BOOL:
			v.Value = &commonpb.AnyValue_BoolValue{BoolValue: t.GetVBool()}
		case jaeger.TagType_LONG:
			v.Value = &commonpb.AnyValue_IntValue{IntValue: t.GetVLong()}
		case jaeger.TagType_BINARY:
			v.Value = &commonpb.AnyValue_BytesValue{BytesValue: t.GetVBinary()}
		default:
			continue
		}
		attrs = append(attrs, &commonpb.KeyValue{Key: t.Key, Value: v})
	}
	return attrs
}

func stringAttribute(key, value string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: key, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: value}}}
}
