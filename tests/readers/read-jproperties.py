"""Reads each .properties file given with jproperties, decoded as ISO-8859-1 ("stream", as
java.util.Properties.load(InputStream)) and as UTF-8 ("reader"). Prints one JSON line per file,
{"file": NAME, "stream": {KEY: VALUE} or {"error": WHY}, "reader": ...}, ASCII only."""
import json
import sys

import jproperties


def read(path, encoding):
    props = jproperties.Properties()
    try:
        with open(path, "rb") as f:
            props.load(f, encoding)
    except Exception as e:  # a reader that cannot read the file says so
        return {"error": type(e).__name__}
    return {k: v.data for k, v in props.items()}


for path in sys.argv[1:]:
    line = {"file": path, "stream": read(path, "iso-8859-1"), "reader": read(path, "utf-8")}
    print(json.dumps(line, ensure_ascii=True, sort_keys=True))
