// Drive a headless Chromium page over the DevTools protocol (node --experimental-websocket).
// Usage: node --experimental-websocket console_cdp.mjs DEVTOOLS_PORT STEPS_JSON
// steps: [{"wait": "js expr"}, {"eval": "js expr"}, {"shot": "file.png"}, {"size": [width, height]}];
// prints the eval results as JSON.
// WHY node: its built-in WebSocket speaks CDP with no package to install; the test logic stays in pytest.
import { writeFileSync } from "node:fs";

const [port, stepsJson] = process.argv.slice(2);
const steps = JSON.parse(stepsJson);
const pages = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const page = pages.find((p) => p.type === "page");
const ws = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((ok, bad) => { ws.onopen = ok; ws.onerror = bad; });
let next = 1;
const waiting = new Map();
ws.onmessage = (m) => { const r = JSON.parse(m.data); if (waiting.has(r.id)) { waiting.get(r.id)(r); waiting.delete(r.id); } };
const call = (method, params = {}) => new Promise((ok) => { const id = next++; waiting.set(id, ok); ws.send(JSON.stringify({ id, method, params })); });
const evaluate = async (expr) => {
  const r = await call("Runtime.evaluate", { expression: expr, awaitPromise: true, returnByValue: true });
  if (r.error || r.result.exceptionDetails) throw new Error(JSON.stringify(r.error || r.result.exceptionDetails));
  return r.result.result.value;
};
const out = [];
let size = null;  // the last viewport asked for: a screenshot lays the page out at it again
for (const step of steps) {
  if (step.wait) {
    const until = Date.now() + (step.timeout || 15000);
    let ok = false;
    // a page that is still navigating (the first about:blank, a reload) has no context to ask: not ready yet
    const ready = () => evaluate(step.wait).catch(() => false);
    while (Date.now() < until && !(ok = await ready())) await new Promise((r) => setTimeout(r, 100));
    if (!ok) {
      // what the page got: each resource's HTTP status (0: failed or refused) says why it is not there
      const seen = await evaluate("JSON.stringify({ready: document.readyState, loads: performance.getEntries()"
        + ".filter((e) => e.responseStatus !== undefined).map((e) => [e.name.replace(location.origin, ''), e.responseStatus])})")
        .catch((e) => String(e));
      console.error("timed out waiting for: " + step.wait + "\nthe page: " + seen);
      process.exit(3);
    }
  } else if (step.eval) {
    out.push(await evaluate(step.eval));
  } else if (step.size) {  // the viewport of a phone or a laptop, in CSS pixels
    size = step.size;
    await call("Emulation.setDeviceMetricsOverride", { width: step.size[0], height: step.size[1], deviceScaleFactor: 1, mobile: false });
    // as on a phone or a laptop with overlay scrollbars: the page gets the whole width (a desktop
    // scrollbar would take 15 px, and a screenshot beyond the viewport would crop them off)
    await call("Emulation.setScrollbarsHidden", { hidden: true });
  } else if (step.shot) {
    await call("Emulation.setScrollbarsHidden", { hidden: true });
    if (size) await call("Emulation.setDeviceMetricsOverride", { width: size[0], height: size[1] + 1, deviceScaleFactor: 1, mobile: false });
    if (size) await call("Emulation.setDeviceMetricsOverride", { width: size[0], height: size[1], deviceScaleFactor: 1, mobile: false });
    await evaluate("new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => ok(true))))");
    const r = await call("Page.captureScreenshot", { format: "png", captureBeyondViewport: true });
    writeFileSync(step.shot, Buffer.from(r.result.data, "base64"));
  }
}
console.log(JSON.stringify(out));
ws.close();
process.exit(0);
