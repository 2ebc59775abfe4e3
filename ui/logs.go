package ui

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// logsPage is a container's log, followed live by the page's script.
type logsPage struct {
	App, Container string
	Containers     []string
	Unavailable    string
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	page := logsPage{App: r.PathValue("app"), Container: r.PathValue("container")}
	if spec, ok := s.view().Apps[page.App]; ok {
		for _, c := range spec.Containers {
			page.Containers = append(page.Containers, c.Name)
		}
	}
	if s.cfg.Logs == nil {
		page.Unavailable = "this node's runtime keeps no logs (a simulated node)"
	}
	s.pages.render(w, r, "logs", layout{Title: "logs of " + page.App + "/" + page.Container, Agent: true, Page: page})
}

// tailLines is how much of a container's past log its page starts with;
// the page keeps up to a thousand lines as it follows.
const tailLines = 200

// logStream follows the container's log as server-sent events, a line
// per message, until the browser leaves or the container stops.
func (s *Server) logStream(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if s.cfg.Logs == nil || !ok {
		http.Error(w, "no logs on this node", http.StatusNotFound)
		return
	}
	app, name := r.PathValue("app"), r.PathValue("container")
	containers, err := s.cfg.Logs.AppContainers(r.Context(), app, name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	reader, writer := io.Pipe()
	go func() {
		writer.CloseWithError(s.cfg.Logs.TailLogs(r.Context(), containers[0], tailLines, true, writer))
	}()
	defer reader.Close()
	lines := bufio.NewScanner(reader)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for lines.Scan() {
		if _, err := fmt.Fprintf(w, "data: %s\n\n", strings.ReplaceAll(lines.Text(), "\r", "")); err != nil {
			return
		}
		flusher.Flush()
	}
	if err := lines.Err(); err != nil && r.Context().Err() == nil {
		fmt.Fprintf(w, "event: failed\ndata: %s\n\n", err)
	}
	fmt.Fprint(w, "event: ended\ndata: the container's log ended\n\n")
	flusher.Flush()
}
