"""Read TOML files with Python's tomllib (TOML 1.0), for tests/integration/readers_toml.rs.

The file names come on stdin, one per line. Prints one JSON object: {name: {"doc": ...}} or
{name: {"error": message}}. In "doc", a string stays a JSON string and every other scalar
becomes {"$type": name, "repr": text}, so that no reader's number or date spelling is lost.
"""

import datetime
import json
import math
import sys
import tomllib


def plain(v):
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, bool):
        return {"$type": "boolean", "repr": str(v).lower()}
    if isinstance(v, int):
        return {"$type": "integer", "repr": str(v)}
    if isinstance(v, float):
        return {"$type": "float", "repr": "nan" if math.isnan(v) else repr(v)}
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return {"$type": "datetime", "repr": v.isoformat()}
    return {"$type": type(v).__name__, "repr": str(v)}


out = {}
for name in sys.stdin.read().splitlines():
    try:
        with open(name, "rb") as f:
            out[name] = {"doc": plain(tomllib.load(f))}
    except Exception as e:  # noqa: BLE001 - every failure is a reading
        out[name] = {"error": f"{type(e).__name__}: {e}"}
json.dump(out, sys.stdout)
