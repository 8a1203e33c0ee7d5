// Look passwords up with node-postgres' pgpass package, for tests/integration/readers_pgpass.rs.
//
// argv[2] is the pgpass package folder. Stdin holds one JSON array of lookups,
// [{"file": path, "host": h, "port": p, "database": d, "user": u}, ...]; each is done in turn
// through the package's own entry point (PGPASSFILE set to the file, so its mode check runs too).
// Prints one JSON array: the password found, or null, per lookup.
'use strict';
const fs = require('fs');
const pgpass = require(process.argv[2]);

const lookups = JSON.parse(fs.readFileSync(0, 'utf8'));
const found = [];
pgpass.warnTo(process.stderr);
function next(i) {
  if (i === lookups.length) {
    process.stdout.write(JSON.stringify(found));
    return;
  }
  const { file, ...conn } = lookups[i];
  process.env.PGPASSFILE = file;
  pgpass(conn, (password) => {
    found.push(password === undefined ? null : password);
    next(i + 1);
  });
}
delete process.env.PGPASSWORD;
next(0);
