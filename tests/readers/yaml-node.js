// Read YAML files with the npm `yaml` package (YAML.parse, as Backstage's config loader) or
// js-yaml (load) for the reader battery.
// Usage: node yaml-node.js yaml|js-yaml PACKAGE_DIR < file-names
// Prints {file: {"doc": node} | {"error": why}}, nodes typed as in yaml-python.py.
"use strict";
const fs = require("fs");
const [which, dir] = process.argv.slice(2);
const lib = require(dir);
const load = which === "yaml" ? (t) => lib.parse(t) : (t) => lib.load(t);

function typed(node) {
  if (node === null || node === undefined) return ["null"];
  if (typeof node === "boolean") return ["bool", node];
  if (typeof node === "string") return ["str", node];
  if (typeof node === "number") {
    return Number.isInteger(node) && Math.abs(node) < 2 ** 53 ? ["int", String(node)] : ["float", String(node)];
  }
  if (typeof node === "bigint") return ["int", node.toString()];
  if (node instanceof Date) return ["date", node.toISOString()];
  if (Array.isArray(node)) return { seq: node.map(typed) };
  if (node instanceof Map) return { map: [...node].map(([k, v]) => [typed(k), typed(v)]) };
  if (typeof node === "object") return { map: Object.entries(node).map(([k, v]) => [typed(k), typed(v)]) };
  return ["other", typeof node];
}

const out = {};
for (const name of fs.readFileSync(0, "utf8").split("\n")) {
  if (!name) continue;
  try {
    out[name] = { doc: typed(load(fs.readFileSync(name, "utf8"))) };
  } catch (e) {
    out[name] = { error: e.name || "Error" };
  }
}
process.stdout.write(JSON.stringify(out));
