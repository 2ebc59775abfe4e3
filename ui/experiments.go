package ui

import (
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/experiment"
	"github.com/sluice-io/sluice/sim/report"
)

// experiments serves the runs under a directory: each directory (or its
// subdirectory) holding a summary.json is one run.
type experiments struct {
	dir    string
	pages  *pages
	prefix string
	agent  bool
	mux    *http.ServeMux
}

// NewExperiments serves the experiment runs under dir on their own, as
// `sluice experiment view` does.
func NewExperiments(dir string) (http.Handler, error) {
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	e := newExperiments(dir, p, "/")
	e.agent = false
	mux := http.NewServeMux()
	mux.Handle("/", e)
	mux.Handle("GET /static/", http.FileServerFS(staticFiles))
	return mux, nil
}

func newExperiments(dir string, p *pages, prefix string) *experiments {
	e := &experiments{dir: dir, pages: p, prefix: prefix, agent: true, mux: http.NewServeMux()}
	e.mux.HandleFunc("GET "+prefix+"{$}", e.list)
	e.mux.HandleFunc("GET "+prefix+"run/{run...}", e.run)
	e.mux.HandleFunc("GET "+prefix+"plot/{run...}", e.plot)
	e.mux.HandleFunc("GET "+prefix+"compare", e.compare)
	return e
}

func (e *experiments) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// runView is one run as the pages show it.
type runView struct {
	Name    string
	Summary report.Summary
	Rows    [][]string
	Columns []string
	// Prefix is where the experiment pages are, for links.
	Prefix string
}

type experimentsPage struct {
	Dir    string
	Prefix string
	Runs   []runView
	Error  string
}

// maxRunDepth is how deep under the directory runs are looked for: a run's
// own directory, or one directory per mode beneath a scenario's.
const maxRunDepth = 2

// runs finds the runs under the directory, by name (their path under it).
func (e *experiments) runs() ([]string, error) {
	var names []string
	root := filepath.Clean(e.dir)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		depth := strings.Count(filepath.ToSlash(rel), "/") + 1
		if d.IsDir() && rel != "." && depth > maxRunDepth {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == experiment.SummaryFile && rel != experiment.SummaryFile {
			names = append(names, filepath.ToSlash(filepath.Dir(rel)))
		}
		return nil
	})
	return names, err
}

// load reads a run named by a request, which must be one of the runs
// found: a name is never a path the browser chose.
func (e *experiments) load(name string) (runView, error) {
	names, err := e.runs()
	if err != nil {
		return runView{}, err
	}
	if !slices.Contains(names, name) {
		return runView{}, fmt.Errorf("no run %q under %s", name, e.dir)
	}
	return e.read(name)
}

// read reads the summary of a run that runs found.
func (e *experiments) read(name string) (runView, error) {
	summary, err := experiment.ReadSummary(filepath.Join(e.dir, filepath.FromSlash(name)))
	if err != nil {
		return runView{}, fmt.Errorf("run %s: %w", name, err)
	}
	return runView{Name: name, Summary: summary, Rows: summaryRows(summary), Columns: summaryColumns, Prefix: e.prefix}, nil
}

// summaryColumns head the table of a run's phases.
var summaryColumns = []string{"phase", "control", "victim CPU satisfaction", "victim p50 ms", "victim p99 ms",
	"SLO violations", "hog share of free CPU", "time to shield s", "CPU utilisation"}

func summaryRows(s report.Summary) [][]string {
	rows := make([][]string, len(s.Phases))
	for i, p := range s.Phases {
		rows[i] = []string{p.Name, string(p.Control), number(&p.VictimCPUSatisfaction), number(p.VictimLatencyP50Ms),
			number(p.VictimLatencyP99Ms), number(p.SLOViolationRatio), number(p.HogShareOfFreeCPU),
			number(p.TimeToShieldSeconds), number(&p.SharedCPUUtilization)}
	}
	return rows
}

func number(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'g', 4, 64)
}

func (e *experiments) list(w http.ResponseWriter, r *http.Request) {
	page := experimentsPage{Dir: e.dir, Prefix: e.prefix}
	names, err := e.runs()
	if err != nil {
		page.Error = err.Error()
	}
	for _, n := range names {
		run, err := e.read(n)
		if err != nil {
			page.Error = err.Error()
			continue
		}
		page.Runs = append(page.Runs, run)
	}
	e.pages.render(w, r, "experiments", layout{Title: "experiments", Agent: e.agent, Page: page})
}

func (e *experiments) run(w http.ResponseWriter, r *http.Request) {
	run, err := e.load(r.PathValue("run"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	others, _ := e.runs()
	e.pages.render(w, r, "experiment", layout{Title: "experiment " + run.Name, Agent: e.agent,
		Page: struct {
			Run    runView
			Others []string
		}{run, others}})
}

// compare shows runs side by side: a simulated run beside a real one.
func (e *experiments) compare(w http.ResponseWriter, r *http.Request) {
	var runs []runView
	for _, name := range r.URL.Query()["run"] {
		run, err := e.load(name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		runs = append(runs, run)
	}
	e.pages.render(w, r, "compare", layout{Title: "compare runs", Agent: e.agent,
		Page: struct{ Runs []runView }{runs}})
}

func (e *experiments) plot(w http.ResponseWriter, r *http.Request) {
	run, err := e.load(r.PathValue("run"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	http.ServeFile(w, r, filepath.Join(e.dir, filepath.FromSlash(run.Name), experiment.PlotFile))
}

// PlotPath is where a run's plot is served.
func (r runView) PlotPath() string { return path.Join(r.Prefix, "plot", r.Name) }

// Path is where a run's page is.
func (r runView) Path() string { return path.Join(r.Prefix, "run", r.Name) }
