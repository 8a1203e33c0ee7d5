#!/usr/bin/env bash
# benches/formats.sh [OUTPUT.md]: one `credshim rotate` per format and file size, to see the
# splice time per line stay flat from 1k to 100k lines. For each format (env, json, ini,
# properties, toml, pgpass, yaml) and each size, an N-line file of the shapes real files have, with the key
# in the middle, is rotated with hyperfine (every run starts from the same file: --prepare copies
# it back). The table goes into OUTPUT.md (default benches/RESULTS.md) as section 4, replacing
# the one there; benches/run.sh keeps that section when it rewrites the rest.
#
# Needs: cargo, hyperfine, python3, awk. Run by hand on a quiet machine, not in CI.
#   SIZES="1000 10000 100000"   the line counts
#   RUNS=N                      hyperfine's minimum runs per command (default 20)
#   BIN=path/to/credshim        a binary to measure instead of building the release one
set -euo pipefail
trap 'echo "formats.sh: failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."
out=${1:-benches/RESULTS.md}
sizes=${SIZES:-1000 10000 100000}
for tool in cargo hyperfine python3 awk; do
  command -v "$tool" >/dev/null || { echo "formats.sh: $tool is needed" >&2; exit 1; }
done
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  bin=$PWD/target/release/credshim
  profile="release profile (lto, codegen-units=1)"
else
  bin=$(realpath "$BIN")
  profile="binary $BIN"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJiZW5jaCIsImV4cCI6NDEwMjQ0NDgwMH0.c2lnbmF0dXJlLW9mLXRoZS1iZW5jaC10b2tlbg
printf '#!/bin/sh\nexec /usr/bin/printf "%%s\\n" %s\n' "$jwt" >"$work/mint"
chmod +x "$work/mint"

# gen FORMAT LINES: an N-line file on stdout, the key once, in the middle.
gen() {
  awk -v fmt="$1" -v n="$2" '
    function env_line(i) {
      m = i % 6
      if (m == 0) return "# settings of service " i
      if (m == 1) return "SERVICE_" i "_URL=https://svc-" i ".example.com:8443/api"
      if (m == 2) return "SERVICE_" i "_NAME=\047service number " i "\047"
      if (m == 3) return "export SERVICE_" i "_GREETING=\"hello, world " i "\""
      if (m == 4) return "SERVICE_" i "_TIMEOUT=" i
      return "SERVICE_" i "_KEY=AKIA" sprintf("%016d", i)
    }
    function toml_line(i) {
      m = i % 6
      if (m == 0) return "[service_" i "]"
      if (m == 1) return "url = \"https://svc-" i ".example.com:8443/api\" # the endpoint"
      if (m == 2) return "name = \047service number " i "\047"
      if (m == 3) return "limits = { timeout = " i ", retries = 3 }"
      if (m == 4) return "tags = [\"a\", \"b\"]"
      return ""
    }
    function ini_line(i) {
      m = i % 6
      if (m == 0) return "[service_" i "]"
      if (m == 1) return "url = https://svc-" i ".example.com:8443/api"
      if (m == 2) return "; the name of service " i
      if (m == 3) return "name = service number " i
      if (m == 4) return "timeout=" i
      return ""
    }
    function properties_line(i) {
      m = i % 6
      if (m == 0) return "# settings of service " i
      if (m == 1) return "service." i ".url=https://svc-" i ".example.com:8443/api"
      if (m == 2) return "service." i ".name = service number " i
      if (m == 3) return "service." i ".greeting: hello, w\\u00f6rld " i
      if (m == 4) return "service." i ".timeout " i
      return "! a comment " i
    }
    function pgpass_line(i) {
      m = i % 4
      if (m == 0) return "# replica " i
      if (m == 1) return "db-" i ".example.com:5432:app:user_" i ":AKIA" sprintf("%016d", i)
      if (m == 2) return "*:*:other_" i ":*:pw\\:" i
      return "db-" i ".example.com:*:*:reader_" i ":secret" i
    }
    function yaml_line(i, g) {
      # Groups of six lines: a mapping key, four entries of it, a comment.
      m = i % 6
      if (g) {
        if (m == 1) return "database:"
        if (m == 2) return "  password: old"
        if (m == 3) return "  host: db.example.com"
        if (m == 4) return "  port: 5432"
        if (m == 5) return "  user: app"
        return "# the database"
      }
      if (m == 1) return "service_" i ":"
      if (m == 2) return "  url: https://svc-" i ".example.com:8443/api # the endpoint"
      if (m == 3) return "  name: \047service number " i "\047"
      if (m == 4) return "  limits: {cpu: 2, timeout: " i "}"
      if (m == 5) return "  greeting: \"hello, world " i "\""
      return "# service " i
    }
    BEGIN {
      if (fmt == "ini") {
        for (i = 1; i <= n; i++) {
          if (i == int(n / 2)) { print "[database]"; print "password = old"; i++ }
          else print ini_line(i)
        }
      } else if (fmt == "properties") {
        for (i = 1; i <= n; i++) print (i == int(n / 2) ? "spring.datasource.password=old" : properties_line(i))
      } else if (fmt == "pgpass") {
        for (i = 1; i <= n; i++) print (i == int(n / 2) ? "db.example.com:5432:app:app:old" : pgpass_line(i))
      } else if (fmt == "yaml") {
        mid = int(n / 12) * 6
        for (i = 1; i <= n; i++) print yaml_line(i, i > mid && i <= mid + 6)
      } else if (fmt == "env") {
        for (i = 1; i <= n; i++) print (i == int(n / 2) ? "TOKEN=old.token.value" : env_line(i))
      } else if (fmt == "json") {
        print "{"
        for (i = 2; i < n; i++) {
          sep = (i < n - 1) ? "," : ""
          if (i == int(n / 2)) print "  \"database\": { \"password\": \"old\" }" sep
          else print "  \"service_" i "\": { \"url\": \"https://svc-" i ".example.com/api\", \"timeout\": " i " }" sep
        }
        print "}"
      } else if (fmt == "toml") {
        for (i = 1; i <= n; i++) {
          if (i == int(n / 2)) { print "[database]"; print "password = \"old\""; i++ }
          else print toml_line(i)
        }
      }
    }'
}

declare -A key=([env]=TOKEN [json]=/database/password [ini]=/database/password
  [properties]=spring.datasource.password [toml]=/database/password
  [pgpass]=db.example.com:5432:app:app [yaml]=/database/password)
formats="env json ini properties toml pgpass yaml"
args=()
for fmt in $formats; do
  for n in $sizes; do
    gen "$fmt" "$n" >"$work/base-$n.$fmt"
    [ "$(wc -l <"$work/base-$n.$fmt")" -eq "$n" ] || { echo "formats.sh: $fmt $n: wrong line count" >&2; exit 1; }
    target=$work/t-$n.$fmt
    # 0600: libpq's mode, so that the pgpass run does not warn.
    args+=(--prepare "install -m 0600 $work/base-$n.$fmt $target" -n "$fmt $n"
      "$bin rotate --target $target --format $fmt --set ${key[$fmt]} -- $work/mint")
  done
done
echo "== one rotation per format and size" >&2
hyperfine -N --warmup 2 --min-runs "${RUNS:-20}" --export-json "$work/formats.json" "${args[@]}" >&2

# Every target must really hold the new token.
for fmt in $formats; do
  for n in $sizes; do
    grep -q "$jwt" "$work/t-$n.$fmt" || { echo "formats.sh: $fmt $n was not rotated" >&2; exit 1; }
  done
done

table=$(python3 - "$work/formats.json" "$work" <<'PY'
import json, os, sys
results = json.load(open(sys.argv[1]))["results"]
print("| format | lines | file size | mean wall time | median | ns per line (median) |")
print("|---|---:|---:|---:|---:|---:|")
per = {}
for r in results:
    fmt, n = r["command"].split()
    n = int(n)
    size = os.path.getsize(os.path.join(sys.argv[2], f"base-{n}.{fmt}"))
    ns = r["median"] * 1e9 / n
    per.setdefault(fmt, []).append(ns)
    print(f"| {fmt} | {n} | {size / 1024:.0f} KiB | {r['mean'] * 1e3:.1f} ± {r['stddev'] * 1e3:.1f} ms "
          f"| {r['median'] * 1e3:.1f} ms | {ns:.0f} |")
print()
for fmt, v in per.items():
    print(f"- {fmt}: {v[-1]:.0f} ns per line at the largest size, {v[-1] / v[0]:.2f}x the smallest size's "
          "(a whole rotation: fixed costs weigh most on small files).")
PY
)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
section=$(
  echo "## 4. One rotation per format and file size"
  echo
  echo "Reproduce with \`benches/formats.sh\`. Measured $(date -u +%Y-%m-%dT%H:%MZ), $profile;"
  echo "load average $load_before before, $load_after after. One \`credshim rotate\` (mint: \`printf\` of"
  echo "a JWT, no reload) of a generated N-line file, the key in the middle; the whole run: walk,"
  echo "lock, parse, splice, verify (a second parse), fsync and rename."
  echo
  echo "$table"
)
if [ -f "$out" ]; then
  python3 - "$out" "$section" <<'PY'
import sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
at = text.find("## 4. One rotation per format and file size")
text = (text[:at] if at >= 0 else text.rstrip("\n") + "\n\n") + section + "\n"
open(path, "w").write(text)
PY
else
  echo "$section" >"$out"
fi
echo "wrote $out" >&2
