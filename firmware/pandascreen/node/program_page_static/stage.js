// The open stage on the program page: a participant books a slot, retitles or cancels its own
// events, signed on this phone with its own key (publish.js) and sent to the screen, which checks
// the signature and the festival's rules and answers in one line.  The key stays in this
// browser (localStorage) and is backed up as a code; without this script the page is read-only.
(function () {
  "use strict";
  var P = window.pandascreenPublish;
  var box = document.getElementById("stage");
  if (!P || !box || !window.fetch || !window.localStorage) return;
  var seed = P.loadSeed(localStorage);
  var me = P.hex(P.publicKey(seed));
  var state = null;

  function el(tag, attrs, kids) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (kid) { node.appendChild(kid); });
    return node;
  }

  function say(line, bad) {
    var msg = document.getElementById("stage-msg");
    msg.textContent = line;
    msg.className = bad ? "refused" : "done";
  }

  function clock(epoch) {  // HH:MM in the festival's zone
    var d = new Date((epoch + state.utc_offset * 60) * 1000);
    return d.toISOString().slice(11, 16);
  }

  function load() {
    return fetch("/publish/state?key=" + me, { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error("the screen did not answer");
      return r.json();
    }).then(function (got) { state = got; draw(); });
  }

  // sign one event body as this key's next operation and send it; the screen's line comes back
  function send(action, id, fields, done) {
    var body = P.makeBody("event", action, id, fields);
    var op = P.createOperation(seed, body, state.seq, state.backlink ? P.unhex(state.backlink) : null,
                               P.extensions(P.unhex(state.log_id), Date.now() * 1000));
    return fetch("/publish", { method: "POST", headers: { "Content-Type": "application/json" },
                               body: JSON.stringify({ header: P.hex(op.header), body: P.hex(body) }) })
      .then(function (r) {
        return r.text().then(function (text) {
          if (r.ok) say(done, false); else say(text.trim(), true);
          return load();
        });
      }).catch(function () { say("the screen cannot be reached: try again", true); });
  }

  function book(form) {
    var venue = form.venue.value;
    var parts = form.start.value.split(/[-T:]/).map(Number);  // the festival's local time
    var start = Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4]) / 1000 - state.utc_offset * 60;
    var name = P.hex(crypto.getRandomValues(new Uint8Array(6)));
    return send("create", venue + "/" + me + "/" + name,
                { venue: venue, title: form.title.value.trim(), start: start,
                  end: start + Number(form.minutes.value) * 60 }, "Booked: " + form.title.value.trim());
  }

  function draw() {
    var venues = state.venues, names = {};
    venues.forEach(function (v) { names[v.id] = v.name; });
    var mine = el("ul", { "class": "events", id: "my-events" }, state.events.map(function (ev) {
      var title = el("input", { name: "title", "aria-label": "New title", value: ev.title, maxlength: "200" });
      var retitle = el("button", { type: "button", text: "Retitle" });
      var cancel = el("button", { type: "button", text: "Cancel it", "class": "cancel" });
      retitle.onclick = function () { send("update", ev.id, { title: title.value.trim() }, "Retitled."); };
      cancel.onclick = function () { send("update", ev.id, { status: "cancelled" }, "Cancelled: " + ev.title); };
      return el("li", { "data-id": ev.id, "class": ev.status === "cancelled" ? "cancelled" : "" }, [
        el("span", { "class": "time", text: clock(ev.start) + "\u2013" + clock(ev.end) }),
        el("span", { "class": "title", text: ev.title }),
        el("span", { "class": "where", text: names[ev.venue] || ev.venue }),
        el("span", { "class": "actions" }, ev.status === "cancelled" ? [] : [title, retitle, cancel])]);
    }));
    var form = el("form", { id: "book" }, [
      el("label", { text: "Venue" }, [el("select", { name: "venue" }, venues.map(function (v) {
        return el("option", { value: v.id, text: v.name + (v.open ? "" : " (invite-only)") });
      }))]),
      el("label", { text: "Title" }, [el("input", { name: "title", required: "", maxlength: "200" })]),
      el("label", { text: "Starts (festival time)" }, [el("input", { name: "start", type: "datetime-local", required: "" })]),
      el("label", { text: "Minutes" }, [el("input", { name: "minutes", type: "number", min: "5", max: "600", value: "30" })]),
      el("button", { type: "submit", text: "Book this slot" })]);
    form.onsubmit = function (e) { e.preventDefault(); book(form); };
    var backup = el("details", { id: "backup" }, [
      el("summary", { text: "Your key: back it up or bring it back" }),
      el("p", { text: "This phone signs with its own key. Keep this code to use the key on another phone:" }),
      el("code", { id: "backup-code", text: P.backupCode(seed) }),
      el("form", { id: "restore" }, [
        el("label", { text: "Backup code" }, [el("input", { name: "code", autocomplete: "off" })]),
        el("button", { type: "submit", text: "Use this key" })])]);
    var keep = document.getElementById("stage-msg");
    box.textContent = "";
    box.appendChild(el("h2", { id: "stage-h", text: "Open stage" }));
    box.appendChild(keep || el("p", { id: "stage-msg", role: "status" }));
    if (!state.member) {
      box.appendChild(el("p", { id: "not-invited", text: "You are not invited yet: show an organiser your key " + me }));
    }
    box.appendChild(form);
    box.appendChild(el("h3", { text: "Your events" }));
    box.appendChild(state.events.length ? mine : el("p", { text: "None yet." }));
    box.appendChild(backup);
    backup.querySelector("#restore").onsubmit = function (e) {
      e.preventDefault();
      try {
        seed = P.restoreSeed(localStorage, e.target.code.value);
      } catch (err) { say(err.message, true); return; }
      me = P.hex(P.publicKey(seed));
      say("This phone now signs with the restored key.", false);
      load();
    };
    box.hidden = false;
  }

  load().catch(function () { /* the page stays read-only */ });
})();
