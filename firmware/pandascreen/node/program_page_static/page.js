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

// The open stage's scripts (publish.js, then stage.js), when a busy screen refused one (503): asked
// for again a few times, spread out, so the page does not stay read-only without a word.
(function () {
  "use strict";
  var TRIES = 10;
  if (!document.getElementById("stage") || !window.fetch || !window.localStorage) return;

  function add(src, then, failed) {
    var s = document.createElement("script");
    s.src = src;
    s.onload = then;
    s.onerror = failed;
    document.body.appendChild(s);
  }

  function again(tries) {
    if (window.pandascreenStage || tries >= TRIES) return;
    var later = function () { setTimeout(function () { again(tries + 1); }, 1000 + Math.random() * 2000); };
    var stage = function () { add("/stage.js", function () { if (!window.pandascreenStage) later(); }, later); };
    if (window.pandascreenPublish) stage(); else add("/publish.js", stage, later);
  }

  window.addEventListener("load", function () { if (!window.pandascreenStage) again(0); });
})();
