package ui

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// pages are the templates, one set per page sharing layout.html.
type pages struct {
	byName map[string]*template.Template
}

var pageNames = []string{"cluster", "app", "traces", "logs", "experiments", "experiment", "compare"}

var funcs = template.FuncMap{
	"cores":    func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) },
	"ms":       func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"optional": optional,
	"short":    short,
	"clock":    func(t time.Time) string { return t.Format("15:04:05.000") },
	"ratio":    func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) },
}

func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/run.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("ui: parse the %s page: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// layout is what every page's frame shows around its content.
type layout struct {
	Title string
	// Agent says the page is served by an agent, whose other pages the
	// navigation links; an experiment viewer has none.
	Agent bool
	// Live pages fetch their content again when the view changes.
	Live bool
	Page any
}

// render writes page name; a request with the X-Partial header gets the
// content alone, which is how a live page updates itself.
func (p *pages) render(w http.ResponseWriter, r *http.Request, name string, frame layout) {
	var buf bytes.Buffer
	which := "layout"
	if r.Header.Get("X-Partial") != "" {
		which = "main"
	}
	var data any = frame
	if which == "main" {
		data = frame.Page
	}
	if err := p.byName[name].ExecuteTemplate(&buf, which, data); err != nil {
		http.Error(w, "render the "+name+" page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// optional formats a setting that may be absent ("-").
func optional(v any) string {
	switch v := v.(type) {
	case *float64:
		if v == nil || math.IsNaN(*v) {
			return "-"
		}
		return strconv.FormatFloat(*v, 'f', 2, 64)
	case *uint64:
		if v == nil {
			return "-"
		}
		return strconv.FormatUint(*v, 10)
	case string:
		if v == "" {
			return "-"
		}
		return v
	}
	return fmt.Sprint(v)
}

// short cuts a digest or an ID to what tells it apart.
func short(s string) string {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
