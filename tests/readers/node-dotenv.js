// Read .env files with Node's dotenv package, for tests/integration/readers.rs.
//
// argv[2] is the dotenv package folder; the file names come on stdin, one per line. Prints one JSON
// object: {name: {"pairs": [[key, value], ...], "warnings": []}} or {name: {"error": ...}}.
'use strict';
const fs = require('fs');
const dotenv = require(process.argv[2]);

const out = {};
for (const name of fs.readFileSync(0, 'utf8').split('\n').filter(Boolean)) {
  try {
    out[name] = { pairs: Object.entries(dotenv.parse(fs.readFileSync(name))), warnings: [] };
  } catch (e) {
    out[name] = { error: String(e) };
  }
}
process.stdout.write(JSON.stringify(out));
