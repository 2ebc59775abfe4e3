package state

import (
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func TestParseRetention(t *testing.T) {
	for _, tc := range []struct {
		in                  string
		want                Retention
		mode, etcdRetention string
		checkEvery          time.Duration
	}{
		{"10m", Retention{Age: 10 * time.Minute}, embed.CompactorModePeriodic, "10m0s", time.Minute},
		{"1h30m", Retention{Age: 90 * time.Minute}, embed.CompactorModePeriodic, "1h30m0s", time.Minute},
		{"5s", Retention{Age: 5 * time.Second}, embed.CompactorModePeriodic, "5s", 5 * time.Second},
		{"2400", Retention{Revisions: 2400}, embed.CompactorModeRevision, "2400", time.Minute},
		{"1", Retention{Revisions: 1}, embed.CompactorModeRevision, "1", time.Minute},
	} {
		got, err := ParseRetention(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseRetention(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if again, err := ParseRetention(got.String()); err != nil || again != got {
			t.Errorf("ParseRetention(%q.String() = %q) = %+v, %v; want it back", tc.in, got.String(), again, err)
		}
		if mode, retention := got.AutoCompaction(); mode != tc.mode || retention != tc.etcdRetention {
			t.Errorf("%q: etcd compaction %s %s, want %s %s", tc.in, mode, retention, tc.mode, tc.etcdRetention)
		}
		if every := got.CheckEvery(); every != tc.checkEvery {
			t.Errorf("%q: checked every %v, want %v", tc.in, every, tc.checkEvery)
		}
	}
}

func TestParseRetentionRejects(t *testing.T) {
	for in, reason := range map[string]string{
		"":      "want a duration",
		"ten":   "want a duration",
		"10":    "", // valid: the cases below are not
		"0":     "at least 1 revision or an age of at least 1s",
		"-5":    "at least 1 revision or an age of at least 1s",
		"0s":    "at least 1 revision or an age of at least 1s",
		"-1m":   "at least 1 revision or an age of at least 1s",
		"500ms": "at least 1 revision or an age of at least 1s",
		"10 m":  "want a duration",
	} {
		_, err := ParseRetention(in)
		if reason == "" {
			if err != nil {
				t.Errorf("ParseRetention(%q) = %v", in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), reason) || !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseRetention(%q) = %v, want an error naming the value and saying %q", in, err, reason)
		}
	}
	both := Retention{Age: time.Minute, Revisions: 10}
	if err := both.validate(); err == nil {
		t.Errorf("%+v validated", both)
	}
}
