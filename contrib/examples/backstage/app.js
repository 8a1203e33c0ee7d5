#!/usr/bin/env node
// app.js DIR: a stand-in for Backstage's backend that reads its database password once.
//
// At startup it loads DIR/app-config.yaml and then DIR/app-config.local.yaml with the npm `yaml`
// package, as Backstage's config loader does, and merges them the same way: objects key by key,
// the later file winning, anything else replaced whole. It takes
// backend.database.connection {host, port, user, password, database} from the result and never
// reads the files again. Then, about once a second (0.5 to 1.5 s apart, at random), it opens a
// new connection with the npm `pg` package (`SELECT 1`) and logs one line to stdout:
// `<RFC 3339 time> ok` or `<RFC 3339 time> FAIL <the error's first line>`; at startup,
// `<time> start pid N user ROLE`. The password is never logged. Stops on SIGTERM or SIGINT.
//
// Needs `yaml` and `pg` where Node finds them (NODE_PATH).
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");
const { Client } = require("pg");

function merge(base, over) {
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}

function load(dir) {
  let config = {};
  for (const name of ["app-config.yaml", "app-config.local.yaml"]) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) config = merge(config, YAML.parse(fs.readFileSync(file, "utf8")));
  }
  return config;
}

const now = () => new Date().toISOString();
const dir = process.argv[2];
if (!dir) {
  console.error("usage: app.js DIR");
  process.exit(64);
}
const conn = load(dir).backend.database.connection;
console.log(`${now()} start pid ${process.pid} user ${conn.user}`);

let stopping = false;
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => { stopping = true; process.exit(0); });

async function attempt() {
  const client = new Client({
    host: conn.host,
    port: Number(conn.port),
    user: conn.user,
    password: conn.password,
    database: conn.database,
    connectionTimeoutMillis: 5000,
  });
  try {
    await client.connect();
    await client.query("SELECT 1");
    console.log(`${now()} ok`);
  } catch (e) {
    console.log(`${now()} FAIL ${String(e.message).split("\n")[0]}`);
  } finally {
    client.end().catch(() => {});
  }
}

(async () => {
  while (!stopping) {
    await attempt();
    await new Promise((r) => setTimeout(r, 500 + Math.random() * 1000));
  }
})();
