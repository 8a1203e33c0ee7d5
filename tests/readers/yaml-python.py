"""Read YAML files with PyYAML (YAML 1.1) or ruamel.yaml (YAML 1.2) for the reader battery.

Usage: python3 yaml-python.py pyyaml|ruamel < file-names
Prints {file: {"doc": node} | {"error": why}}, every node typed: ["str", v], ["bool", v],
["null"], ["int", "v"], ["float", "v"], ["date", "iso"], {"map": [[k, v], ...]}, {"seq": [...]}.
"""
import datetime
import json
import sys


def typed(node):
    if isinstance(node, bool):
        return ["bool", node]
    if node is None:
        return ["null"]
    if isinstance(node, str):
        return ["str", str(node)]
    if isinstance(node, int):
        return ["int", str(int(node))]
    if isinstance(node, float):
        return ["float", repr(float(node))]
    if isinstance(node, (datetime.date, datetime.datetime)):
        return ["date", node.isoformat()]
    if isinstance(node, dict):
        return {"map": [[typed(k), typed(v)] for k, v in node.items()]}
    if isinstance(node, (list, tuple)):
        return {"seq": [typed(v) for v in node]}
    if isinstance(node, bytes):
        return ["binary", node.hex()]
    return ["other", type(node).__name__]


def main():
    which = sys.argv[1]
    if which == "pyyaml":
        import yaml

        def load(text):
            return yaml.safe_load(text)
    else:
        from ruamel.yaml import YAML

        reader = YAML(typ="safe", pure=True)

        def load(text):
            return reader.load(text)

    out = {}
    for name in sys.stdin.read().split("\n"):
        if not name:
            continue
        try:
            with open(name, encoding="utf-8") as f:
                out[name] = {"doc": typed(load(f.read()))}
        except Exception as e:  # noqa: BLE001 - any failure is a reading
            out[name] = {"error": type(e).__name__}
    json.dump(out, sys.stdout)


main()
