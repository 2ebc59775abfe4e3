package state

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// RecordingFormat names the version of the events.jsonl layout.
const RecordingFormat = "sluice-recording/v1"

// Recording is a stretch of the event log with what is needed to re-derive
// its decisions: the policy files in force. An experiment runs every phase
// on a clean store, so a recording holds one segment per phase, each with
// its own revisions.
type Recording struct {
	Header   RecordingHeader `json:"header"`
	Segments []Segment       `json:"segments"`
}

// RecordingHeader describes where a recording came from.
type RecordingHeader struct {
	Format   string `json:"format"`
	Scenario string `json:"scenario,omitempty"`
	Mode     string `json:"mode,omitempty"`
	Seed     int64  `json:"seed,omitempty"`
	// Policy holds the policy bundle's files by name, and PolicyDigest its
	// digest, so a replay needs nothing but the file.
	Policy       map[string]string `json:"policy,omitempty"`
	PolicyDigest string            `json:"policy_digest,omitempty"`
}

// Segment is a run of events on one store, in revision order.
type Segment struct {
	Name   string  `json:"name"`
	Events []Event `json:"events"`
}

// recordLine is one line of events.jsonl. Values that are JSON are kept as
// JSON so the file reads well; anything else (a malformed spec is part of
// the log too) is kept verbatim as text.
type recordLine struct {
	Type     string           `json:"type"`
	Header   *RecordingHeader `json:"header,omitempty"`
	Segment  string           `json:"segment,omitempty"`
	Revision int64            `json:"revision,omitempty"`
	Key      string           `json:"key,omitempty"`
	Value    json.RawMessage  `json:"value,omitempty"`
	Text     *string          `json:"text,omitempty"`
	Deleted  bool             `json:"deleted,omitempty"`
}

// WriteRecording writes rec as JSON lines: the header, then per segment a
// segment line followed by its events.
func WriteRecording(w io.Writer, rec Recording) error {
	enc := json.NewEncoder(w)
	header := rec.Header
	header.Format = RecordingFormat
	if err := enc.Encode(recordLine{Type: "header", Header: &header}); err != nil {
		return fmt.Errorf("write recording header: %w", err)
	}
	for _, seg := range rec.Segments {
		if err := enc.Encode(recordLine{Type: "segment", Segment: seg.Name}); err != nil {
			return fmt.Errorf("write segment %s: %w", seg.Name, err)
		}
		for _, ev := range seg.Events {
			if err := enc.Encode(eventLine(seg.Name, ev)); err != nil {
				return fmt.Errorf("write segment %s revision %d: %w", seg.Name, ev.Revision, err)
			}
		}
	}
	return nil
}

// RecordingWriter writes a recording line by line, for a log that is still
// growing: the header and one segment line, then each event as it comes.
type RecordingWriter struct {
	enc     *json.Encoder
	segment string
}

// NewRecordingWriter writes the header and the segment line to w.
func NewRecordingWriter(w io.Writer, header RecordingHeader, segment string) (*RecordingWriter, error) {
	enc := json.NewEncoder(w)
	header.Format = RecordingFormat
	if err := enc.Encode(recordLine{Type: "header", Header: &header}); err != nil {
		return nil, fmt.Errorf("write recording header: %w", err)
	}
	if err := enc.Encode(recordLine{Type: "segment", Segment: segment}); err != nil {
		return nil, fmt.Errorf("write segment %s: %w", segment, err)
	}
	return &RecordingWriter{enc: enc, segment: segment}, nil
}

// Event writes one event, which must not precede the last one written.
func (rw *RecordingWriter) Event(ev Event) error {
	if err := rw.enc.Encode(eventLine(rw.segment, ev)); err != nil {
		return fmt.Errorf("write segment %s revision %d: %w", rw.segment, ev.Revision, err)
	}
	return nil
}

func eventLine(segment string, ev Event) recordLine {
	line := recordLine{Type: "event", Segment: segment, Revision: ev.Revision, Key: ev.Key, Deleted: ev.Deleted}
	switch {
	case ev.Deleted:
	case json.Valid(ev.Value):
		line.Value = ev.Value
	default:
		text := string(ev.Value)
		line.Text = &text
	}
	return line
}

// ReadRecording parses events.jsonl; errors name the line.
func ReadRecording(r io.Reader) (Recording, error) {
	var rec Recording
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	for lineNo := 1; scanner.Scan(); lineNo++ {
		if err := rec.addLine(scanner.Bytes()); err != nil {
			return Recording{}, fmt.Errorf("line %d: %w", lineNo, err)
		}
	}
	if err := scanner.Err(); err != nil {
		return Recording{}, fmt.Errorf("read recording: %w", err)
	}
	if rec.Header.Format != RecordingFormat {
		return Recording{}, fmt.Errorf("not a recording: no %q header line", RecordingFormat)
	}
	return rec, nil
}

func (rec *Recording) addLine(data []byte) error {
	var line recordLine
	if err := json.Unmarshal(data, &line); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	switch line.Type {
	case "header":
		if line.Header == nil || line.Header.Format != RecordingFormat {
			return fmt.Errorf("header: format must be %q", RecordingFormat)
		}
		rec.Header = *line.Header
	case "segment":
		rec.Segments = append(rec.Segments, Segment{Name: line.Segment})
	case "event":
		return rec.addEvent(line)
	default:
		return fmt.Errorf("unknown line type %q", line.Type)
	}
	return nil
}

func (rec *Recording) addEvent(line recordLine) error {
	if len(rec.Segments) == 0 || rec.Segments[len(rec.Segments)-1].Name != line.Segment {
		return fmt.Errorf("event of segment %q outside that segment", line.Segment)
	}
	seg := &rec.Segments[len(rec.Segments)-1]
	if n := len(seg.Events); n > 0 && seg.Events[n-1].Revision > line.Revision {
		return fmt.Errorf("revision %d after revision %d: events must be in order", line.Revision, seg.Events[n-1].Revision)
	}
	ev := Event{Revision: line.Revision, Key: line.Key, Deleted: line.Deleted, Value: line.Value}
	if line.Text != nil {
		ev.Value = []byte(*line.Text)
	}
	seg.Events = append(seg.Events, ev)
	return nil
}
