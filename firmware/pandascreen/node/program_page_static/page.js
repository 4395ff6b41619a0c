// Live updates for the program page: the server says on /events when the page changed (a new
// schedule version or the next minute); the new content replaces <main>.  Without this script
// the page is complete, only not live.
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main || !window.EventSource || !window.fetch) return;
  var key = main.getAttribute("data-key");
  var source = null;
  var SPREAD = 3000;

  function refresh(wanted) {
    fetch("/?part=main", { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      var got = r.headers.get("X-Page-Key") || wanted;
      return r.text().then(function (text) {
        main.innerHTML = text;
        main.setAttribute("data-key", got);
        key = got;
        // the open stage (stage.js) looks again at what this phone may do
        document.dispatchEvent(new CustomEvent("pandascreen:page", { detail: got }));
      });
    }).catch(function () { /* the next event tries again */ });
  }

  function connect() {
    source = new EventSource("/events");
    // every phone hears a change at the same moment: each waits up to SPREAD ms before it asks,
    // so a crowd's reloads reach a small Pi spread out instead of all at once
    source.onmessage = function (e) {
      if (e.data && e.data !== key) setTimeout(function () { refresh(e.data); }, Math.random() * SPREAD);
    };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {  // refused (busy): try again later
        source = null;
        setTimeout(connect, 30000);
      }
    };
  }
  connect();
})();
