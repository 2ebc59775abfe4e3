package state

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestRecordingRoundTrip(t *testing.T) {
	rec := Recording{
		Header: RecordingHeader{Scenario: "shield-sine", Mode: "sim", Seed: 7,
			Policy: map[string]string{"shield.rego": "package sluice.shield\n"}, PolicyDigest: "sha256:ab"},
		Segments: []Segment{
			{Name: "alone", Events: []Event{
				{Revision: 2, Key: Keys.App("", "web"), Value: []byte(`{"name":"web"}`)},
				{Revision: 3, Key: Keys.App("", "bad"), Value: []byte(`{"name":`)},
				{Revision: 4, Key: Keys.App("", "web"), Deleted: true},
			}},
			{Name: "shielded", Events: []Event{{Revision: 2, Key: Keys.Observation("n1"), Value: []byte(`{"node":"n1"}`)}}},
		},
	}
	var buf bytes.Buffer
	if err := WriteRecording(&buf, rec); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRecording(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rec.Header.Format = RecordingFormat
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("round trip changed the recording:\n got %+v\nwant %+v", got, rec)
	}
}

func TestReadRecordingNamesTheBadLine(t *testing.T) {
	for name, tc := range map[string]struct{ input, want string }{
		"no header":     {`{"type":"segment","segment":"a"}`, "no \"sluice-recording/v1\" header"},
		"garbage":       {`{"type":"header","header":{"format":"sluice-recording/v1"}}` + "\nnot json", "line 2: decode"},
		"orphan event":  {`{"type":"header","header":{"format":"sluice-recording/v1"}}` + "\n" + `{"type":"event","segment":"a","revision":2}`, "line 2: event of segment \"a\" outside"},
		"out of order":  {`{"type":"header","header":{"format":"sluice-recording/v1"}}` + "\n" + `{"type":"segment","segment":"a"}` + "\n" + `{"type":"event","segment":"a","revision":5}` + "\n" + `{"type":"event","segment":"a","revision":4}`, "line 4: revision 4 after revision 5"},
		"unknown type":  {`{"type":"header","header":{"format":"sluice-recording/v1"}}` + "\n" + `{"type":"nope"}`, "line 2: unknown line type"},
		"wrong version": {`{"type":"header","header":{"format":"sluice-recording/v0"}}`, "line 1: header: format"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadRecording(strings.NewReader(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
