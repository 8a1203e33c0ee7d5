// Read TOML files with the npm smol-toml package, for tests/integration/readers_toml.rs.
//
// node toml-smol.js PACKAGE_DIR; the file names come on stdin, one per line. Prints one JSON
// object: {name: {"doc": ...}} or {name: {"error": message}}. In "doc", a string stays a JSON
// string and every other scalar becomes {"$type": name, "repr": text}.
"use strict";
const fs = require("fs");
const { parse, TomlDate } = require(process.argv[2]);

function plain(v) {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof TomlDate || v instanceof Date) return { $type: "datetime", repr: v.toISOString() };
  if (typeof v === "object" && v !== null) {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = plain(x);
    return o;
  }
  if (typeof v === "bigint") return { $type: "integer", repr: v.toString() };
  if (typeof v === "number") return { $type: Number.isInteger(v) ? "integer" : "float", repr: String(v) };
  return { $type: typeof v, repr: String(v) };
}

const out = {};
for (const name of fs.readFileSync(0, "utf8").split("\n").filter(Boolean)) {
  try {
    out[name] = { doc: plain(parse(fs.readFileSync(name, "utf8"))) };
  } catch (e) {
    out[name] = { error: String(e && e.message ? e.message.split("\n")[0] : e) };
  }
}
process.stdout.write(JSON.stringify(out));
