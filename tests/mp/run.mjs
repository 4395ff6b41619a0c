// Usage: node run.mjs --lib DIR [--lib DIR2 ...] [--dir DATA ...] SCRIPT.py
// Copies every .py/.mpy below each --lib DIR into MicroPython's /lib (keeping sub-folders),
// and every file below each --dir DATA to the same absolute path inside MicroPython's file
// system (so a script names host paths as they are); runs SCRIPT.py, then writes the files
// below each DATA back to the host (what the script wrote, renamed or removed shows there too).
// A line "# live: NAME" (at the top level of the script) prints "LIVE NAME BYTES": the heap still
// in use there.  This port's gc.collect() only marks a collection as due; it runs when control is
// back in JavaScript, where no C stack holds stale pointers.  So the script runs as one
// runPython() per part between such lines, and at each line gc.collect() is called in a call of
// its own, after which gc.mem_alloc() counts only what the script's globals and the modules keep.
// Exit code 0 on success, 1 if Python raised.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "node:fs";
import path from "node:path";

const args = process.argv.slice(2);
const libs = [];
const dirs = [];
let script = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--lib") libs.push(args[++i]);
  else if (args[i] === "--dir") dirs.push(path.resolve(args[++i]));
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

function copyData(src, dst) {
  mkdirp(dst);
  for (const ent of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, ent.name);
    if (ent.isDirectory()) copyData(s, dst + "/" + ent.name);
    else if (ent.isFile()) mp.FS.writeFile(dst + "/" + ent.name, fs.readFileSync(s));
  }
}

function syncBack(src, dst) {
  const inside = new Set(mp.FS.readdir(src).filter((n) => n !== "." && n !== ".."));
  for (const ent of fs.readdirSync(dst, { withFileTypes: true })) {
    if (ent.isFile() && !inside.has(ent.name)) fs.unlinkSync(path.join(dst, ent.name));
  }
  for (const name of inside) {
    const s = src + "/" + name;
    const d = path.join(dst, name);
    if (mp.FS.isDir(mp.FS.stat(s).mode)) {
      fs.mkdirSync(d, { recursive: true });
      syncBack(s, d);
    } else {
      fs.writeFileSync(d, mp.FS.readFile(s));
    }
  }
}

for (const lib of libs) copyTree(lib, "/lib");
for (const dir of dirs) copyData(dir, dir);
mkdirp("/tmp");
const code = fs.readFileSync(script, "utf8");
let failed = false;
try {
  mp.runPython("import sys\nif '/lib' not in sys.path:\n    sys.path.append('/lib')\n");
  mp.runPython("import gc as _gc\n");
  // compile the whole script once, as a board compiles main.py at boot: every name and short
  // literal is interned before the first step, so running it part by part (below) interns
  // nothing mid-run (one more pool of the string table is ~4.5 KB in one piece)
  const whole = code.split("\n").map((line) => {
    const m = /^#\s*live:\s*(.+?)\s*$/.exec(line);
    return m ? "print('LIVE', " + JSON.stringify(m[1].replace(/\s+/g, "_")) + ", _gc.mem_alloc())" : line;
  }).join("\n");
  mp.globals.set("_whole_script", whole);
  mp.runPython("compile(_whole_script, '<script>', 'exec')\ndel _whole_script\n");
  let part = [];
  for (const line of code.split("\n")) {
    const m = /^#\s*live:\s*(.+?)\s*$/.exec(line);
    if (!m) {
      part.push(line);
      continue;
    }
    mp.runPython(part.join("\n"));
    part = [];
    mp.runPython("_gc.collect()\n");
    mp.runPython("print('LIVE', " + JSON.stringify(m[1].replace(/\s+/g, "_")) + ", _gc.mem_alloc())\n");
  }
  mp.runPython(part.join("\n"));
} catch (e) {
  console.error(String(e && e.message ? e.message : e));
  failed = true;
}
for (const dir of dirs) syncBack(dir, dir);
if (failed) process.exit(1);
