package ui

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The experiment pages list the runs under a directory, serve their plots,
// and answer 404 for any name that is not one of them, a path that climbs
// out of the directory included.
func TestExperimentsServeOnlyTheRunsFound(t *testing.T) {
	dir := t.TempDir()
	for _, run := range []string{"shield-sine/sim", "shield-sine/real", "single"} {
		writeRun(t, filepath.Join(dir, filepath.FromSlash(run)), run)
	}
	writeRun(t, filepath.Join(dir, "a", "b", "too-deep"), "too-deep")
	handler, err := NewExperiments(dir)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	code, body := get("/")
	for _, run := range []string{"shield-sine/sim", "shield-sine/real", "single"} {
		if code != http.StatusOK || !strings.Contains(body, `value="`+run+`"`) {
			t.Errorf("the list (%d) lacks run %s", code, run)
		}
	}
	if strings.Contains(body, "too-deep") {
		t.Error("the list holds a run deeper than two directories")
	}
	if code, body := get("/compare?run=shield-sine/sim&run=shield-sine/real"); code != http.StatusOK || strings.Count(body, `class="plot"`) != 2 {
		t.Errorf("compare answers %d with %d plots, want both runs", code, strings.Count(body, `class="plot"`))
	}
	if code, body := get("/plot/single"); code != http.StatusOK || !strings.Contains(body, "<svg") {
		t.Errorf("the plot of single answers %d: %.40s", code, body)
	}
	for _, path := range []string{"/run/nope", "/plot/..%2f..%2fetc", "/plot/a/b/too-deep", "/compare?run=../x"} {
		if code, _ := get(path); code != http.StatusNotFound {
			t.Errorf("%s answers %d, want 404", path, code)
		}
	}
}

func writeRun(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	summary := `{"scenario":"` + name + `","mode":"sim","seed":1,"tick_seconds":0.25,"phases":[{"name":"alone","control":"none","victim_cpu_satisfaction":1,"ticks":4}]}`
	for file, content := range map[string]string{"summary.json": summary, "plot.svg": `<svg xmlns="http://www.w3.org/2000/svg"></svg>`} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
