// pandascreen console: renders each snapshot the server pushes (server-sent events); no reloads.
"use strict";
const token = new URLSearchParams(location.search).get("token");
// the server's per-session secret, in the page it served: each edit echoes it in a header
const secret = document.querySelector('meta[name="console-secret"]').content;
const q = (path) => token ? path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : path;
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
let utcOffset = 0;  // minutes: times shown in the festival's local time, like the screens
const hhmm = (s) => new Date((s + utcOffset * 60) * 1000).toISOString().slice(11, 16);
const ago = (s) => s < 90 ? s + " s ago" : Math.round(s / 60) + " min ago";

function screens(state) {
  const body = document.querySelector("#screens tbody");
  body.replaceChildren();
  document.getElementById("no-screens").hidden = state.screens.length > 0;
  for (const s of state.screens) {
    const tr = el("tr", undefined, s.state); tr.dataset.key = s.key;
    tr.append(el("td", s.name));
    const shows = el("td"); const img = el("img", undefined, "frame"); img.src = q(s.png); img.alt = s.shows;
    shows.append(img, el("div", s.shows)); tr.append(shows);
    const st = el("td", undefined, "state");
    st.append(el("div", s.state === "ok" ? "ok" : s.state));
    for (const w of s.warnings) st.append(el("div", w.text, "warning " + w.kind));
    tr.append(st, el("td", ago(s.ago)), el("td", s.clock ? "trusted" : "NOT trusted"),
      el("td", s.temp_c === null ? "-" : s.temp_c.toFixed(1) + " °C"), el("td", s.version));
    body.append(tr);
  }
}

function program(state) {
  const div = document.getElementById("program"); div.replaceChildren();
  const ids = document.getElementById("edit-id"), venues = document.getElementById("edit-venue");
  const keepId = ids.value, keepVenue = venues.value;
  ids.replaceChildren(); venues.replaceChildren();
  for (const v of state.program) {
    const box = el("div", undefined, "venue"); box.append(el("h3", v.name));
    const ul = el("ul");
    for (const e of v.events) {
      ul.append(el("li", e.time + " " + e.title + (e.tag ? " (" + e.tag + ")" : "")));  // as the screens say it
      const o = el("option", v.name + " " + e.time + " " + e.title); o.value = e.id; ids.append(o);
    }
    box.append(ul); div.append(box);
    const o = el("option", v.name); o.value = v.id; venues.append(o);
  }
  if (keepId) ids.value = keepId; if (keepVenue) venues.value = keepVenue;
}

function changes(state) {
  const body = document.querySelector("#changes tbody"); body.replaceChildren();
  for (const c of state.changes) {
    const tr = el("tr");
    const picked = Object.entries(c.picked).map(([n, t]) => n + (t ? " " + hhmm(t) : " –")).join(", ");
    tr.append(el("td", c.seq), el("td", hhmm(c.at)), el("td", c.what), el("td", picked || "-"));
    body.append(tr);
  }
}

function render(state) { utcOffset = state.utc_offset || 0; screens(state); program(state); changes(state); document.body.dataset.now = state.now; }

function connect() {
  const live = document.getElementById("live");
  const es = new EventSource(q("/events"));
  es.onmessage = (m) => { live.textContent = "live"; live.className = ""; render(JSON.parse(m.data)); };
  es.onerror = () => { live.textContent = "reconnecting…"; live.className = "down"; };
}

document.getElementById("edit").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = Object.fromEntries(new FormData(ev.target).entries());
  for (const k of ["start", "end", "title"]) if (form[k] === "") delete form[k];
  if (form.action === "retitle" && form.title === undefined) form.title = "";
  const msg = document.getElementById("edit-msg");
  const r = await fetch(q("/edit"), { method: "POST", headers: { "Content-Type": "application/json", "X-Console-Secret": secret }, body: JSON.stringify(form) });
  const out = await r.json();
  msg.textContent = r.ok ? "published" : out.error; msg.className = r.ok ? "ok" : "error";
});

connect();
