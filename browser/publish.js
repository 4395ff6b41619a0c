// The phone's half of publishing: a participant's own Ed25519 key and p2panda-core 0.7
// operations signed in the browser, byte for byte as pandascreen's core writes them
// (core/cbor.py, core/operation.py create, core/schema.py make_body).  The screen checks the
// signature and the festival group's rules again: nothing here is trusted by it.
//
// Bundled by esbuild (see README.md) into program_page_static/publish.js, served by the page
// itself: a phone on the festival Wi-Fi has no internet, and the page must not load code from it.
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { blake3 } from "@noble/hashes/blake3.js";

ed.hashes.sha512 = sha512;

const VERSION = 1;
const SCHEMA_VERSION = 1;
const TOPIC_PREFIX = "pandascreen/festival/";
const KEY_ITEM = "pandascreen.key"; // localStorage: the participant's seed, hex
const text = new TextEncoder();

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function unhex(s) {
  if (typeof s !== "string" || s.length % 2 || /[^0-9a-f]/i.test(s)) throw new Error("not hex: " + s);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// -- CBOR as core/cbor.py writes it: shortest heads, definite lengths, maps in insertion order --

class Bytes {
  constructor() { this.parts = []; this.size = 0; }
  push(...b) { this.parts.push(Uint8Array.from(b)); this.size += b.length; }
  add(u8) { this.parts.push(u8); this.size += u8.length; }
  done() {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) { out.set(p, at); at += p.length; }
    return out;
  }
}

function head(major, n, out) {
  n = BigInt(n);
  const m = major << 5;
  if (n < 0n) throw new Error("negative length");
  if (n < 24n) out.push(m | Number(n));
  else if (n < 0x100n) out.push(m | 24, Number(n));
  else if (n < 0x10000n) out.push(m | 25, Number(n >> 8n), Number(n & 0xffn));
  else if (n < 0x100000000n) out.push(m | 26, ...[24n, 16n, 8n, 0n].map((s) => Number((n >> s) & 0xffn)));
  else if (n < 0x10000000000000000n) out.push(m | 27, ...[56n, 48n, 40n, 32n, 24n, 16n, 8n, 0n].map((s) => Number((n >> s) & 0xffn)));
  else throw new Error("integer too large for CBOR");
}

function enc(v, out, depth) {
  if (depth > 32) throw new Error("structure nested too deeply");
  if (v === true) out.push(0xf5);
  else if (v === false) out.push(0xf4);
  else if (v === null) out.push(0xf6);
  else if (typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v))) {
    if (v >= 0) head(0, v, out); else head(1, -1n - BigInt(v), out);
  } else if (typeof v === "number") throw new Error("no floats in CBOR here");
  else if (v instanceof Uint8Array) { head(2, v.length, out); out.add(v); }
  else if (typeof v === "string") { const b = text.encode(v); head(3, b.length, out); out.add(b); }
  else if (Array.isArray(v)) { head(4, v.length, out); for (const x of v) enc(x, out, depth + 1); }
  else if (v instanceof Map) { head(5, v.size, out); for (const [k, x] of v) { enc(k, out, depth + 1); enc(x, out, depth + 1); } }
  else if (typeof v === "object") {
    const keys = Object.keys(v);
    head(5, keys.length, out);
    for (const k of keys) { enc(k, out, depth + 1); enc(v[k], out, depth + 1); }
  } else throw new Error("cannot encode " + typeof v + " as CBOR");
}

export function cbor(v) {
  const out = new Bytes();
  enc(v, out, 0);
  return out.done();
}

// -- operations (core/operation.py) ------------------------------------------------------------

export function festivalLogId(festivalId) {
  return blake3(blake3(text.encode(TOPIC_PREFIX + festivalId)));
}

export function logIdForTopic(topic) {
  return blake3(topic);
}

export function publicKey(seed) {
  return ed.getPublicKey(seed);
}

// Node Extensions Format, "Basic": [1, 0, log_id, timestamp_us, prune]
export function extensions(logId, timestampUs, prune = false) {
  return [1, 0, logId, BigInt(timestampUs), !!prune];
}

function fields(pk, signature, size, payloadHash, seq, backlink, ext) {
  const f = [VERSION, pk];
  if (signature) f.push(signature);
  f.push(size);
  if (payloadHash) f.push(payloadHash);
  f.push(BigInt(seq));
  if (backlink) f.push(backlink);
  if (ext) f.push(ext);
  return f;
}

// Build and sign an operation like core/operation.create: {unsigned, header, hash, body}.
export function createOperation(seed, body = null, seq = 0, backlink = null, ext = null) {
  const pk = ed.getPublicKey(seed);
  const size = body ? body.length : 0;
  const payloadHash = size ? blake3(body) : null;
  const unsigned = cbor(fields(pk, null, size, payloadHash, seq, backlink, ext));
  const signature = ed.sign(unsigned, seed);
  const header = cbor(fields(pk, signature, size, payloadHash, seq, backlink, ext));
  return { unsigned, header, hash: blake3(header), body: size ? body : null, publicKey: pk };
}

// core/schema.make_body: {"v", "kind", "action", "id", "fields" (names sorted)}; no fields on delete
export function makeBody(kind, action, docId, fieldValues = null) {
  const body = { v: SCHEMA_VERSION, kind, action, id: docId };
  if (fieldValues && action !== "delete") {
    const ordered = {};
    for (const name of Object.keys(fieldValues).sort()) ordered[name] = fieldValues[name];
    body.fields = ordered;
  }
  return cbor(body);
}

// -- group operations (core/auth_group.group_body): GroupsExtensionArgs as ciborium writes it --------

function access(level) {
  return { conditions: null, level };
}

function member(key, isGroup) {
  return isGroup ? { Group: key } : { Individual: key };
}

// A venue's group: initial members [[key bytes, level, isGroup], ...] (the creator stewards it)
export function groupCreate(groupId, initial = []) {
  return cbor({ group_id: groupId, action: { Create: { initial_members: initial.map(([k, level, g]) => [member(k, !!g), access(level)]) } },
                dependencies: [] });
}

export function groupAdd(groupId, key, isGroup, level, deps) {
  return cbor({ group_id: groupId, action: { Add: { member: member(key, !!isGroup), access: access(level) } }, dependencies: deps });
}

export function groupRemove(groupId, key, isGroup, deps) {
  return cbor({ group_id: groupId, action: { Remove: { member: member(key, !!isGroup) } }, dependencies: deps });
}

export { blake3 };

// -- the participant's key: kept by the browser, backed up as a code -----------------------------

// A backup code: the seed in hex and four check characters (BLAKE3 of the seed), in groups of
// eight so it can be read out or copied by hand.
export function backupCode(seed) {
  const body = hex(seed) + hex(blake3(seed)).slice(0, 4);
  return body.match(/.{1,8}/g).join("-");
}

export function seedFromCode(code) {
  const clean = String(code).toLowerCase().replace(/[^0-9a-f]/g, "");
  if (clean.length !== 68) throw new Error("a backup code has 68 hex characters");
  const seed = unhex(clean.slice(0, 64));
  if (hex(blake3(seed)).slice(0, 4) !== clean.slice(64)) throw new Error("this backup code has a typo (its check does not match)");
  return seed;
}

export function loadSeed(storage) {
  const held = storage.getItem(KEY_ITEM);
  if (held && /^[0-9a-f]{64}$/.test(held)) return unhex(held);
  const seed = ed.utils.randomSecretKey();
  storage.setItem(KEY_ITEM, hex(seed));
  return seed;
}

export function restoreSeed(storage, code) {
  const seed = seedFromCode(code);
  storage.setItem(KEY_ITEM, hex(seed));
  return seed;
}
