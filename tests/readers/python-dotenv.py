"""Read .env files with python-dotenv's dotenv_values, for tests/integration/readers.rs.

The file names come on stdin, one per line. Prints one JSON object:
{name: {"pairs": [[key, value or null], ...], "warnings": [message, ...]}} or {name: {"error": ...}}.
python-dotenv logs a line it cannot parse and goes on, so its warnings are collected too.
"""

import json
import logging
import sys

from dotenv import dotenv_values


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


collect = Collect()
log = logging.getLogger("dotenv")
log.addHandler(collect)
log.propagate = False

out = {}
for name in sys.stdin.read().splitlines():
    collect.messages = []
    try:
        pairs = list(dotenv_values(name).items())
        out[name] = {"pairs": pairs, "warnings": collect.messages}
    except Exception as e:  # a reader crash is a finding, not a test-harness failure
        out[name] = {"error": repr(e)}
json.dump(out, sys.stdout)
