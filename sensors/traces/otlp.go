package traces

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// decodeOTLPProto decodes an OTLP/HTTP protobuf body.
func decodeOTLPProto(body []byte) (*coltracepb.ExportTraceServiceRequest, error) {
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(body, req); err != nil {
		return nil, fmt.Errorf("decode OTLP protobuf: %w", err)
	}
	return req, nil
}

// The OTLP/JSON spec lets receivers ignore fields they do not know, so a
// newer client's additions do not make its spans bounce.
var otlpJSON = protojson.UnmarshalOptions{DiscardUnknown: true}

// decodeOTLPJSON decodes an OTLP/HTTP JSON body. OTLP/JSON departs from
// the protobuf JSON mapping in one place: trace and span ids are hex, not
// base64. protojson reads them as base64 anyway, and since every hex digit
// is also a base64 digit and 32 and 16 are multiples of 4, that read is
// lossless: a 32-digit hex trace id becomes 24 bytes whose base64 encoding
// gives the digits back. fixHexIDs undoes it, and tells a genuine 16-byte
// id (sent base64-encoded by an older client) from a misread one by length.
func decodeOTLPJSON(body []byte) (*coltracepb.ExportTraceServiceRequest, error) {
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := otlpJSON.Unmarshal(body, req); err != nil {
		return nil, fmt.Errorf("decode OTLP JSON: %w", err)
	}
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				if err := fixSpanIDs(s); err != nil {
					return nil, fmt.Errorf("decode OTLP JSON: span %q: %w", s.GetName(), err)
				}
			}
		}
	}
	return req, nil
}

func fixSpanIDs(s *tracepb.Span) error {
	var err error
	if s.TraceId, err = fixHexID(s.TraceId, 16); err != nil {
		return fmt.Errorf("traceId: %w", err)
	}
	if s.SpanId, err = fixHexID(s.SpanId, 8); err != nil {
		return fmt.Errorf("spanId: %w", err)
	}
	if s.ParentSpanId, err = fixHexID(s.ParentSpanId, 8); err != nil {
		return fmt.Errorf("parentSpanId: %w", err)
	}
	for _, l := range s.Links {
		if l.TraceId, err = fixHexID(l.TraceId, 16); err != nil {
			return fmt.Errorf("link traceId: %w", err)
		}
		if l.SpanId, err = fixHexID(l.SpanId, 8); err != nil {
			return fmt.Errorf("link spanId: %w", err)
		}
	}
	return nil
}

// fixHexID turns the bytes protojson read from a hex id of size bytes
// back into that id. Ids of any other length are left for validation to
// reject.
func fixHexID(misread []byte, size int) ([]byte, error) {
	if len(misread) != size*2*3/4 {
		return misread, nil
	}
	digits := base64.StdEncoding.EncodeToString(misread)
	id, err := hex.DecodeString(digits)
	if err != nil {
		return nil, fmt.Errorf("%q is not hex", digits)
	}
	return id, nil
}

const serviceNameKey = "service.name"

// spansFromOTLP appends the spans of req to out. Spans whose ids or times
// are invalid are left out and counted in invalid.
func spansFromOTLP(req *coltracepb.ExportTraceServiceRequest, out []Span) (_ []Span, invalid int) {
	for _, rs := range req.GetResourceSpans() {
		service := resourceService(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				span, err := spanFromOTLP(s, service)
				if err != nil {
					invalid++
					continue
				}
				out = append(out, span)
			}
		}
	}
	return out, invalid
}

func resourceService(attrs []*commonpb.KeyValue) string {
	for _, kv := range attrs {
		if kv.GetKey() == serviceNameKey {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

var errInvalidSpan = errors.New("invalid span")

func spanFromOTLP(s *tracepb.Span, service string) (Span, error) {
	span := Span{Service: service, Name: s.GetName()}
	if !copyID(span.Trace[:], s.GetTraceId()) || span.Trace.IsZero() {
		return Span{}, fmt.Errorf("%w: trace id %x", errInvalidSpan, s.GetTraceId())
	}
	if !copyID(span.ID[:], s.GetSpanId()) || span.ID.IsZero() {
		return Span{}, fmt.Errorf("%w: span id %x", errInvalidSpan, s.GetSpanId())
	}
	if p := s.GetParentSpanId(); len(p) != 0 && !copyID(span.Parent[:], p) {
		return Span{}, fmt.Errorf("%w: parent span id %x", errInvalidSpan, p)
	}
	start, end := s.GetStartTimeUnixNano(), s.GetEndTimeUnixNano()
	if end < start || end-start > uint64(maxSpanDuration) || start > uint64(maxUnixNano) {
		return Span{}, fmt.Errorf("%w: times %d..%d", errInvalidSpan, start, end)
	}
	span.Start = time.Unix(0, int64(start))
	span.Duration = time.Duration(end - start)
	if k := s.GetKind(); k >= 0 && k <= tracepb.Span_SPAN_KIND_CONSUMER {
		span.Kind = Kind(k)
	}
	span.Error = s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR
	return span, nil
}

// copyID fills id from b when b has exactly its length.
func copyID(id, b []byte) bool {
	if len(b) != len(id) {
		return false
	}
	copy(id, b)
	return true
}

// A span longer than a day is a clock or encoding error, and a start past
// what int64 nanoseconds hold is not a time.
const (
	maxSpanDuration = 24 * time.Hour
	maxUnixNano     = 1<<63 - 1
)
