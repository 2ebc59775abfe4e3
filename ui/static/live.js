// Live pages fetch their content again when the agent's view changes
// (server-sent events on /events); a log page follows its container's log.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var badge = document.getElementById("live");
  if (main && main.dataset.live === "on" && window.EventSource) {
    var busy = false, again = false;
    var refresh = function () {
      if (busy) { again = true; return; }
      busy = true;
      fetch(location.href, { headers: { "X-Partial": "1" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) { main.innerHTML = html; } })
        .catch(function () { /* the next change tries again */ })
        .then(function () {
          busy = false;
          if (again) { again = false; refresh(); }
        });
    };
    var events = new EventSource("/events");
    events.onmessage = refresh;
    events.onopen = function () { if (badge) { badge.className = "live on"; } };
    events.onerror = function () { if (badge) { badge.className = "live"; } };
  }
  var log = document.getElementById("log");
  if (log && window.EventSource) {
    var maxLines = 1000;
    var stream = new EventSource(log.dataset.stream);
    stream.onmessage = function (e) {
      log.appendChild(document.createTextNode(e.data + "\n"));
      while (log.childNodes.length > maxLines) { log.removeChild(log.firstChild); }
      log.scrollTop = log.scrollHeight;
    };
    stream.addEventListener("ended", function () { stream.close(); });
  }
})();
