// The open stage on the program page: a participant books a slot, retitles or cancels its own
// events, creates a venue (and so stewards it); a steward opens its venue or makes it
// invite-only, invites a key (pasted, or from the QR code another phone shows) and hides events
// in it; an organiser invites members.  Everything is signed on this phone with its own key
// (publish.js) and sent to the screen, which checks the signature and the festival's rules and
// answers in one line.  Words and time zone are the festival's (the screen sends them with the
// state).  The key stays in this browser (localStorage) and is backed up as a code; without
// this script the page is read-only.
(function () {
  "use strict";
  var P = window.pandascreenPublish;
  var box = document.getElementById("stage");
  if (!P || !box || !window.fetch || !window.localStorage || window.pandascreenStage) return;
  window.pandascreenStage = true;  // running: page.js need not fetch this script again
  var seed = P.loadSeed(localStorage);
  var me = P.hex(P.publicKey(seed));
  var state = null, W = {};
  var scanned = (/^#invite=([0-9a-f]{64})$/.exec(location.hash) || [])[1] || "";

  function el(tag, attrs, kids) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (kid) { node.appendChild(kid); });
    return node;
  }

  function fmt(word, value) { return String(word).replace("%s", value); }

  function say(line, bad) {
    var msg = document.getElementById("stage-msg");
    msg.textContent = line;
    msg.className = bad ? "refused" : "done";
  }

  // the festival's zone (core/layout.py festival_zone): minutes, or [from_utc_s, minutes, ...]
  function offsetAt(epoch) {
    var z = state.zone;
    if (!Array.isArray(z)) return Number(z) || 0;
    var off = z[1];
    for (var i = 2; i + 1 < z.length; i += 2) { if (epoch < z[i]) break; off = z[i + 1]; }
    return off;
  }

  function clock(epoch) {  // HH:MM in the festival's zone
    return new Date((epoch + offsetAt(epoch) * 60) * 1000).toISOString().slice(11, 16);
  }

  function fromLocal(wall) {  // the festival's wall clock (seconds as if UTC) -> Unix seconds
    var z = Array.isArray(state.zone) ? state.zone : [0, Number(state.zone) || 0];
    for (var i = 1; i < z.length; i += 2) {
      var e = wall - z[i] * 60;
      if (offsetAt(e) === z[i]) return e;
    }
    return wall - offsetAt(wall) * 60;
  }

  var seen = "";

  // the state the screen holds for this key; drawn again only when it changed (a change on the
  // page while the participant types waits until the field is left)
  function load(force) {
    return fetch("/publish/state?key=" + me, { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error("the screen did not answer");
      return r.text();
    }).then(function (text) {
      var typing = document.activeElement && box.contains(document.activeElement) &&
                   /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
      if (text === seen && !force) return;
      if (typing && !force) { document.activeElement.addEventListener("blur", function () { load(); }, { once: true }); return; }
      seen = text;
      state = JSON.parse(text);
      W = state.words || {};
      draw();
    });
  }

  document.addEventListener("pandascreen:page", function () { load().catch(function () {}); });

  // sign ``body`` as this key's next operation and send it; the screen's line comes back.
  // Resolves true when the screen took it.  One at a time, each signed after the last is in:
  // two taps in a row signed from the same state were two operations with one seq_num (a fork
  // the screen refuses).
  var sending = Promise.resolve();

  function send(body, done) {
    var sent = sending.then(function () { return sendNow(body, done); });
    sending = sent.catch(function () {});
    return sent;
  }

  function sendNow(body, done) {
    var op = P.createOperation(seed, body, state.seq, state.backlink ? P.unhex(state.backlink) : null,
                               P.extensions(P.unhex(state.log_id), Date.now() * 1000));
    return fetch("/publish", { method: "POST", headers: { "Content-Type": "application/json" },
                               body: JSON.stringify({ header: P.hex(op.header), body: P.hex(body) }) })
      .then(function (r) {
        return r.text().then(function (text) {
          if (r.ok) {  // this key's log goes on from it, whatever the state's reload brings
            state.seq = state.seq + 1;
            state.backlink = P.hex(op.hash);
            say(done, false);
          } else {
            say(text.trim(), true);
          }
          return load(true).then(function () { return r.ok; });
        });
      }).catch(function () { say(W.refused_unreachable || "the screen cannot be reached: try again", true); return false; });
  }

  function event(action, id, fields, done) { return send(P.makeBody("event", action, id, fields), done); }

  function heads(list) { return (list || []).map(P.unhex); }

  function keyFrom(text) {  // a pasted key, or the address a key's QR code holds
    var m = /([0-9a-fA-F]{64})\s*$/.exec(String(text).trim());
    return m ? m[1].toLowerCase() : null;
  }

  function book(form) {
    var venue = form.venue.value;
    var p = form.start.value.split(/[-T:]/).map(Number);  // the festival's local time
    var start = fromLocal(Date.UTC(p[0], p[1] - 1, p[2], p[3], p[4]) / 1000);
    var title = form.title.value.trim();
    return event("create", venue + "/" + me + "/" + P.hex(crypto.getRandomValues(new Uint8Array(6))),
                 { venue: venue, title: title, start: start, end: start + Number(form.minutes.value) * 60 },
                 fmt(W.booked, title));
  }

  function createVenue(form) {
    var name = form.name.value.trim();
    var id = crypto.getRandomValues(new Uint8Array(32));  // a fresh key names the venue's group
    var initial = form.open.checked ? [[P.unhex(state.festival_group), "Write", true]] : [];
    return send(P.groupCreate(id, initial), fmt(W.created, name)).then(function (ok) {
      if (ok) return send(P.makeBody("venue", "create", P.hex(id), { name: name, order: 1000 }), fmt(W.created, name));
    });
  }

  function invite(groupHex, keyText, deps) {
    var key = keyFrom(keyText);
    if (!key) { say(W.bad_key, true); return; }
    return send(P.groupAdd(P.unhex(groupHex), P.unhex(key), false, "Write", heads(deps)), W.invited);
  }

  function inviteForm(id, groupHex, deps, legend) {
    var form = el("form", { id: id, "class": "invite" }, [
      el("label", { text: legend }, [el("input", { name: "key", autocomplete: "off", spellcheck: "false", value: scanned })]),
      el("button", { type: "submit", text: W.invite })]);
    form.onsubmit = function (e) { e.preventDefault(); invite(groupHex, form.key.value, deps); };
    return form;
  }

  function eventItem(ev, names, actions) {
    return el("li", { "data-id": ev.id, "class": ev.status === "cancelled" ? "cancelled" : "" }, [
      el("span", { "class": "time", text: clock(ev.start) + "\u2013" + clock(ev.end) }),
      el("span", { "class": "title", text: ev.title }),
      el("span", { "class": "where", text: names[ev.venue] || ev.venue }),
      el("span", { "class": "actions" }, actions)]);
  }

  function myEvents(names) {
    return el("ul", { "class": "events", id: "my-events" }, state.events.map(function (ev) {
      var title = el("input", { name: "title", "aria-label": W.new_title + ": " + ev.title, value: ev.title, maxlength: "200" });
      var retitle = el("button", { type: "button", text: W.retitle });
      var cancel = el("button", { type: "button", text: W.cancel_it, "class": "cancel" });
      retitle.onclick = function () { event("update", ev.id, { title: title.value.trim() }, W.retitled); };
      cancel.onclick = function () { event("update", ev.id, { status: "cancelled" }, fmt(W.cancelled_it, ev.title)); };
      return eventItem(ev, names, ev.status === "cancelled" ? [] : [title, retitle, cancel]);
    }));
  }

  function bookForm() {
    var form = el("form", { id: "book" }, [
      el("label", { text: W.venue }, [el("select", { name: "venue" }, state.venues.map(function (v) {
        return el("option", { value: v.id, text: v.name + (v.may_book ? "" : W.invite_only_mark) });
      }))]),
      el("label", { text: W.title }, [el("input", { name: "title", required: "", maxlength: "200" })]),
      el("label", { text: W.book_starts }, [el("input", { name: "start", type: "datetime-local", required: "" })]),
      el("label", { text: W.minutes }, [el("input", { name: "minutes", type: "number", min: "5", max: "600", value: "30" })]),
      el("button", { type: "submit", text: W.book })]);
    form.onsubmit = function (e) { e.preventDefault(); book(form); };
    return form;
  }

  function venueForm() {
    var form = el("form", { id: "new-venue" }, [
      el("label", { text: W.venue_name }, [el("input", { name: "name", required: "", maxlength: "120" })]),
      el("label", { "class": "check" }, [el("input", { name: "open", type: "checkbox", checked: "" }),
                                         document.createTextNode(" " + W.venue_open)]),
      el("button", { type: "submit", text: W.create_venue })]);
    form.onsubmit = function (e) { e.preventDefault(); createVenue(form); };
    return form;
  }

  function stewarded() {
    return el("ul", { id: "my-venues", "class": "venues" }, state.venues.filter(function (v) { return v.steward; }).map(function (v) {
      var fest = P.unhex(state.festival_group);
      var toggle = el("button", { type: "button", "class": "toggle", text: v.open ? W.make_invite_only : W.make_open });
      toggle.onclick = function () {
        var gid = P.unhex(v.id);
        send(v.open ? P.groupRemove(gid, fest, true, heads(v.heads)) : P.groupAdd(gid, fest, true, "Write", heads(v.heads)),
             fmt(v.open ? W.closed_now : W.opened, v.name));
      };
      return el("li", { "data-venue": v.id }, [
        el("h4", { text: v.name + (v.open ? "" : W.invite_only_mark) }), toggle,
        inviteForm("invite-" + v.id.slice(0, 8), v.id, v.heads, W.invite_key)]);
    }));
  }

  function hideList(names) {
    return el("ul", { "class": "events", id: "hideable" }, state.hideable.map(function (ev) {
      var hide = el("button", { type: "button", "class": "hide", text: W.hide, "aria-label": W.hide + ": " + ev.title });
      hide.onclick = function () { event("delete", ev.id, null, fmt(W.hidden_it, ev.title)); };
      return eventItem(ev, names, [hide]);
    }));
  }

  // the page draws new codes within a budget and says 503 while it is spent (Retry-After: 2 s):
  // the image is asked for again after 2, 4, 8 ... s, at most KEY_CODE_TRIES times
  var KEY_CODE_TRIES = 6;

  function keySection() {
    var src = "/publish/key.svg?key=" + me, tries = 1;
    var code = el("img", { src: src, alt: W.key_qr, width: "180", height: "180" });
    code.onerror = function () {
      if (tries >= KEY_CODE_TRIES) return;
      setTimeout(function () { code.src = src + "&try=" + tries; }, 1000 * Math.pow(2, tries));
      tries += 1;
    };
    return el("section", { id: "my-key", "aria-labelledby": "my-key-h" }, [
      el("h3", { id: "my-key-h", text: W.your_key }),
      el("code", { id: "my-key-hex", text: me }), code]);
  }

  function backupBox() {
    var backup = el("details", { id: "backup" }, [
      el("summary", { text: W.backup }),
      el("p", { text: W.backup_text }),
      el("code", { id: "backup-code", text: P.backupCode(seed) }),
      el("form", { id: "restore" }, [
        el("label", { text: W.backup_code }, [el("input", { name: "code", autocomplete: "off" })]),
        el("button", { type: "submit", text: W.use_key })])]);
    backup.querySelector("#restore").onsubmit = function (e) {
      e.preventDefault();
      try {
        seed = P.restoreSeed(localStorage, e.target.code.value);
      } catch (err) { say(err.message, true); return; }
      me = P.hex(P.publicKey(seed));
      say(W.restored, false);
      load(true);
    };
    return backup;
  }

  function part(title, id, kids) {
    return el("section", { "aria-labelledby": id }, [el("h3", { id: id, text: title })].concat(kids));
  }

  function draw() {
    var names = {};
    state.venues.forEach(function (v) { names[v.id] = v.name; });
    var keep = document.getElementById("stage-msg");
    box.textContent = "";
    box.appendChild(el("h2", { id: "stage-h", text: W.stage }));
    box.appendChild(keep || el("p", { id: "stage-msg", role: "status", "aria-live": "polite" }));
    if (scanned && (state.organiser || state.venues.some(function (v) { return v.steward; }))) {
      box.appendChild(el("p", { id: "scanned", text: W.invite_from_qr + " " + scanned }));
    }
    var invited = state.member || state.venues.some(function (v) { return v.may_book; });
    if (!invited) box.appendChild(el("p", { id: "not-invited", text: fmt(W.not_invited, me) }));
    box.appendChild(bookForm());
    box.appendChild(part(W.your_events, "mine-h", [state.events.length ? myEvents(names) : el("p", { text: W.none_yet })]));
    if (state.member) box.appendChild(part(W.new_venue, "venue-h", [venueForm()]));
    if (state.venues.some(function (v) { return v.steward; })) box.appendChild(part(W.stewarded, "steward-h", [stewarded()]));
    if (state.hideable.length) box.appendChild(part(W.hide_title, "hide-h", [hideList(names)]));
    if (state.organiser) {
      box.appendChild(part(W.invite_festival, "festival-h",
                           [inviteForm("invite-festival", state.festival_group, state.festival_heads, W.invite_key)]));
    }
    box.appendChild(keySection());
    box.appendChild(backupBox());
    box.hidden = false;
  }

  // a busy screen (503: its connections for this phone's address are taken) is asked again a few
  // times, spread out; until then the page stays read-only
  function start(tries) {
    load().catch(function () {
      if (tries < 20) setTimeout(function () { start(tries + 1); }, 1000 + Math.random() * 2000);
    });
  }
  start(0);
})();
