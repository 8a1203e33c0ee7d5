"""Read INI files with every reader of docs/formats/ini.md, for tests/integration/readers_ini.rs.

Usage: ini-readers.py [--aws] [--php PHP] [--mysql MY_PRINT_DEFAULTS] < names
The file names come on stdin, one per line. Prints one JSON object:
{name: {reader: {section: {key: [value, ...]}} or {"error": message}}}
where reader is raw (configparser.RawConfigParser), interp (configparser.ConfigParser, its
default BasicInterpolation), botocore (botocore.configloader.raw_config_parse), and, when given,
mysql (my_print_defaults, one group per section, every occurrence of a key in order), php
(parse_ini_file) and aws (`aws configure get --profile app KEY` for cs_k and the first key the
raw reader found in [app], or with --aws-every-key for every key it found, run in this process through awscli's own driver: the AWS CLI is Python, so this
is the real command without a process start per key). Keys before any section are under "".
A reader reports one value per key, except mysql, which prints every occurrence.
"""

import argparse
import configparser
import json
import os
import re
import subprocess
import sys

HEADER = re.compile(r"^[ \t]*\[([^\]\r\n]*)\]", re.M)


def configparser_read(path, cls):
    cp = cls()
    try:
        with open(path, encoding="utf-8") as f:
            cp.read_file(f)
    except (configparser.Error, UnicodeDecodeError) as e:
        return {"error": type(e).__name__}
    out = {}
    for s in cp.sections():
        out[s] = {}
        for k in cp.options(s):
            try:
                out[s][k] = [cp.get(s, k)]
            except configparser.Error as e:
                out[s][k] = [{"error": type(e).__name__}]
    return out


def botocore_read(path):
    from botocore.configloader import raw_config_parse
    from botocore.exceptions import ConfigParseError

    try:
        parsed = raw_config_parse(path, parse_subsections=True)
    except ConfigParseError as e:
        return {"error": type(e).__name__}
    return {
        s: {k: [v if isinstance(v, str) else json.dumps(v)] for k, v in keys.items()}
        for s, keys in parsed.items()
    }


def sections_in(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    seen = []
    for m in HEADER.finditer(text):
        if m.group(1) not in seen:
            seen.append(m.group(1))
    return seen


def mysql_read(path, tool):
    out = {}
    for group in sections_in(path):
        r = subprocess.run(
            [tool, "--defaults-file=" + path, group], capture_output=True
        )
        if r.returncode != 0:
            return {"error": r.stderr.decode("utf-8", "replace").strip()}
        keys = {}
        for line in r.stdout.decode("utf-8", "replace").splitlines():
            k, _, v = line.removeprefix("--").partition("=")
            keys.setdefault(k, []).append(v)
        if keys:
            out[group] = keys
    return out


def php_read(paths, php):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ini-php.php")
    r = subprocess.run(
        [php, script], input="\n".join(paths).encode(), capture_output=True, check=True
    )
    return json.loads(r.stdout)


def aws_read(path, raw, every_key):
    import contextlib
    import io

    from awscli.clidriver import create_clidriver

    if "error" in raw:
        return {"error": "the raw reader failed"}
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.abspath(path)
    os.environ["AWS_CONFIG_FILE"] = "/nonexistent/credshim-test-config"
    out = {}
    if every_key:
        asked = [(s, k) for s, keys in raw.items() for k in keys]
    else:
        # The key the battery sets and one neighbour: each call builds a whole CLI session.
        app = list(raw.get("app", {}))
        asked = [("app", k) for k in app if k == "cs_k"] + [("app", k) for k in app[:1]]
    for section, k in asked:
        buf, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
            rc = create_clidriver().main(["configure", "get", "--profile", section, k])
        if rc == 0:
            v = buf.getvalue()
            out.setdefault(section, {})[k] = [v[:-1] if v.endswith("\n") else v]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--aws", action="store_true")
    ap.add_argument("--aws-every-key", action="store_true")
    ap.add_argument("--php")
    ap.add_argument("--mysql")
    args = ap.parse_args()
    paths = sys.stdin.read().splitlines()
    out = {p: {} for p in paths}
    php = php_read(paths, args.php) if args.php and paths else {}
    for p in paths:
        r = out[p]
        r["raw"] = configparser_read(p, configparser.RawConfigParser)
        r["interp"] = configparser_read(p, configparser.ConfigParser)
        r["botocore"] = botocore_read(p)
        if args.mysql:
            r["mysql"] = mysql_read(p, args.mysql)
        if args.php:
            r["php"] = php.get(p, {"error": "no answer"})
        if args.aws:
            r["aws"] = aws_read(p, r["raw"], args.aws_every_key)
    json.dump(out, sys.stdout, ensure_ascii=False)
    print()


main()
