// Usage: node run.mjs --lib DIR [--lib DIR2 ...] SCRIPT.py
// Copies every .py/.mpy below each DIR into MicroPython's /lib (keeping sub-folders),
// then runs SCRIPT.py. Exit code 0 on success, 1 if Python raised.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "node:fs";
import path from "node:path";

const args = process.argv.slice(2);
const libs = [];
let script = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--lib") libs.push(args[++i]);
  else script = args[i];
}
if (!script) {
  console.error("usage: node run.mjs --lib DIR SCRIPT.py");
  process.exit(2);
}

let out = "";
const mp = await loadMicroPython({
  heapsize: 64 * 1024 * 1024,
  stdout: (s) => process.stdout.write(s + "\n"),
  stderr: (s) => process.stderr.write(s + "\n"),
});

function mkdirp(p) {
  const parts = p.split("/").filter(Boolean);
  let cur = "";
  for (const part of parts) {
    cur += "/" + part;
    try { mp.FS.mkdir(cur); } catch (e) { /* exists */ }
  }
}

function copyTree(src, dst) {
  mkdirp(dst);
  for (const ent of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, ent.name);
    if (ent.isDirectory()) {
      if (ent.name === "__pycache__") continue;
      copyTree(s, dst + "/" + ent.name);
    } else if (ent.name.endsWith(".py") || ent.name.endsWith(".mpy") || ent.name.endsWith(".json") || ent.name.endsWith(".bin")) {
      mp.FS.writeFile(dst + "/" + ent.name, fs.readFileSync(s));
    }
  }
}

for (const lib of libs) copyTree(lib, "/lib");
mkdirp("/tmp");
const code = fs.readFileSync(script, "utf8");
try {
  mp.runPython("import sys\nif '/lib' not in sys.path:\n    sys.path.append('/lib')\n");
  mp.runPython(code);
} catch (e) {
  console.error(String(e && e.message ? e.message : e));
  process.exit(1);
}
