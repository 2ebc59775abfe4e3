// Package ui is the agent's web pages: the cluster as the node sees it,
// each app's lifecycle, settings, decisions and live charts, its recent
// traces, its containers' logs, and experiments' outputs. They are served
// beside the metrics (agent.Config.MetricsAddr) and read the agent's own
// view of the store: the Server subscribes to the agent's follower and
// opens no watch of its own.
//
// The pages are rendered on the server with html/template, charts are
// inline SVG drawn here, and the little JavaScript there is (live.js)
// is embedded: nothing is fetched from a network. A page updates live
// through server-sent events: /events says the view changed, and the page
// fetches its own content again.
//
// Cost. Run records one sample per app per observation into a bounded
// ring (Config.HistoryPoints per app, 64 decisions), which is what a chart
// shows once a browser connects; with no browser connected nothing else
// runs. Transitions are read from the status key's history when an app's
// page is rendered, not kept in memory.
package ui
