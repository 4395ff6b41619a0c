// pandascreen console: renders each snapshot the server pushes (server-sent events); no reloads.
"use strict";
const token = new URLSearchParams(location.search).get("token");
// the server's per-session secret, in the page it served: each edit echoes it in a header
const secret = document.querySelector('meta[name="console-secret"]').content;
const q = (path) => token ? path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : path;
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
let utcOffset = 0;  // minutes: times shown in the festival's local time, like the screens
let events = {};  // event id -> the program's entry (its local day and time fill the move form)
const hhmm = (s) => new Date((s + utcOffset * 60) * 1000).toISOString().slice(11, 16);
const ago = (s) => s < 90 ? s + " s ago" : s < 5400 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago";
const form = document.getElementById("edit");

// one card per screen, kept across snapshots (its "identify" button must not be replaced
// under the organiser's finger); its text is redrawn from each snapshot
function screens(state) {
  const box = document.getElementById("screens");
  document.getElementById("no-screens").hidden = state.screens.length > 0;
  const keep = new Set(state.screens.map((s) => s.key));
  for (const old of [...box.children]) if (!keep.has(old.dataset.key)) old.remove();
  for (const s of state.screens) {
    let card = box.querySelector('.screen[data-key="' + s.key + '"]');
    if (!card) {
      card = el("div"); card.dataset.key = s.key;
      const img = el("img", undefined, "frame");
      const button = el("button", "identify", "identify"); button.type = "button";
      button.title = "the screen shows its name big for a minute";
      button.addEventListener("click", async () => {
        const [ok, out] = await send("/identify", { screen: s.key });
        const msg = card.querySelector(".identify-msg");
        msg.textContent = ok ? "asked: it shows its name for a minute" : out.error; msg.className = "identify-msg " + (ok ? "ok" : "error");
      });
      card.append(el("h3"), img, el("div", undefined, "body"), button, el("span", "", "identify-msg"));
      box.append(card);
    }
    card.className = "screen " + s.state;
    const head = card.querySelector("h3"); head.replaceChildren(el("span", s.name), el("span", s.state, "state"));
    const img = card.querySelector("img");
    if (img.getAttribute("src") !== q(s.png)) img.src = q(s.png);
    img.alt = s.shows;
    const body = card.querySelector(".body");
    body.replaceChildren(el("div", "venue: " + (s.venue || "–"), "meta venue"),
      el("div", "shows: " + s.shows, "meta"),
      el("div", "data: " + ago(s.ago) + " · clock " + (s.clock ? "trusted" : "NOT trusted") +
        (s.temp_c === null ? "" : " · " + s.temp_c.toFixed(1) + " °C") + " · " + s.version, "meta age"));
    if (s.identify_until && s.identify_until > state.now) body.append(el("div", "showing its name until " + hhmm(s.identify_until), "meta identifying"));
    if (s.pending) body.append(el("div", s.pending + " new operation(s) on their way", "meta pending"));
    for (const w of s.warnings) body.append(el("div", w.text, "warning " + w.kind));
  }
}

let shownProgram = "";
function program(state) {
  const same = JSON.stringify([state.program, state.days]);
  if (same === shownProgram) return;  // a select the organiser has open stays open
  shownProgram = same;
  const div = document.getElementById("program"); div.replaceChildren();
  const ids = document.getElementById("edit-id"), venues = document.getElementById("edit-venue"), days = document.getElementById("edit-day");
  const keep = [ids.value, venues.value, days.value];
  ids.replaceChildren(); venues.replaceChildren(); days.replaceChildren(); events = {};
  for (const d of state.days) { const o = el("option", d.label); o.value = d.date; days.append(o); }
  for (const v of state.program) {
    const box = el("div", undefined, "venue"); box.append(el("h3", v.name));
    const ul = el("ul"); let day = null;
    for (const e of v.events) {
      if (e.day !== day) { day = e.day; ul.append(el("li", day, "day")); }
      ul.append(el("li", e.time + " " + e.title + (e.tag ? " (" + e.tag + ")" : "")));  // as the screens say it
      const o = el("option", e.day + " " + e.time + " · " + v.name + " · " + e.title); o.value = e.id; ids.append(o);
      events[e.id] = e;
    }
    box.append(ul); div.append(box);
    const o = el("option", v.name); o.value = v.id; venues.append(o);
  }
  if (keep[0]) ids.value = keep[0]; if (keep[1]) venues.value = keep[1]; if (keep[2]) days.value = keep[2];
  if (!keep[0]) fill();
}

// the move form starts from the picked event's own venue, day and times
function fill() {
  const e = events[document.getElementById("edit-id").value];
  if (!e) return;
  document.getElementById("edit-venue").value = e.venue;
  document.getElementById("edit-day").value = e.date;
  [form.elements.start.value, form.elements.end.value] = e.time.split("-");
}

function changes(state) {
  const body = document.querySelector("#changes tbody"); body.replaceChildren();
  for (const c of state.changes) {
    const tr = el("tr");
    const picked = Object.entries(c.picked_when).map(([n, t]) => n + (t ? " " + t : " –")).join(", ");
    tr.append(el("td", c.seq), el("td", c.when), el("td", c.what), el("td", picked || "-"));
    body.append(tr);
  }
}

function render(state) {
  utcOffset = state.utc_offset || 0;
  const h = Math.floor(Math.abs(utcOffset) / 60), m = Math.abs(utcOffset) % 60;
  document.getElementById("zone").textContent = "times: festival local (UTC" + (utcOffset < 0 ? "-" : "+") + h + (m ? ":" + String(m).padStart(2, "0") : "") + ")";
  screens(state); program(state); changes(state); document.body.dataset.now = state.now;
}

function connect() {
  const live = document.getElementById("live");
  const es = new EventSource(q("/events"));
  es.onmessage = (m) => { live.textContent = "live"; live.className = ""; render(JSON.parse(m.data)); };
  es.onerror = () => { live.textContent = "reconnecting…"; live.className = "down"; };
}

async function send(path, body) {
  const r = await fetch(q(path), { method: "POST", headers: { "Content-Type": "application/json", "X-Console-Secret": secret }, body: JSON.stringify(body) });
  return [r.ok, await r.json()];
}

form.dataset.action = form.elements.action.value;
form.elements.action.addEventListener("change", () => { form.dataset.action = form.elements.action.value; });
document.getElementById("edit-id").addEventListener("change", fill);
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const data = Object.fromEntries(new FormData(form).entries());
  const keep = { retitle: ["id", "action", "title"], cancel: ["id", "action"], move: ["id", "action", "venue", "day", "start", "end"] }[data.action] || Object.keys(data);
  const body = {}; for (const k of keep) body[k] = data[k] === undefined ? "" : data[k];
  const msg = document.getElementById("edit-msg");
  const [ok, out] = await send("/edit", body);
  msg.textContent = ok ? "published" : out.error; msg.className = ok ? "ok" : "error";
});

connect();
