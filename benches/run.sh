#!/usr/bin/env bash
# benches/run.sh [OUTPUT.md]: measure what credshim costs, and write the tables to
# benches/RESULTS.md (or OUTPUT.md).
#
# 1. One rotation of a 100-line .env (the mint is `printf` of a JWT; no reload) by credshim, by
#    the naive cron script (mint, then `sed -i`) and by python-dotenv's `dotenv set`, side by side
#    in one hyperfine run. Every run starts from the same file (hyperfine --prepare copies it back),
#    so each tool really rewrites the file every time.
# 2. The splice alone on 1k, 10k, 100k and 1M-line files (`cargo bench --bench splice`).
# 3. Peak memory (maximum resident set size, `/usr/bin/time -v`) of one rotation.
#
# Needs: cargo, hyperfine, GNU time (/usr/bin/time), strace, sed, python3 and python-dotenv's CLI:
#   apt-get install hyperfine time strace && pip install "python-dotenv[cli]"
# Run it on a quiet machine: the load average is recorded with the results. RUNS=N sets hyperfine's
# minimum number of runs per command (default 200).
set -euo pipefail
trap 'echo "run.sh: failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."
out=${1:-benches/RESULTS.md}

for tool in cargo hyperfine sed python3 dotenv; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is needed (see the header)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "run.sh: GNU time (/usr/bin/time) is needed: apt-get install time" >&2; exit 1; }

cargo build --release --quiet
bin=$PWD/target/release/credshim
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# A JWT (exp in 2100): what `databricks ... generate-database-credential` hands out, roughly.
jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJiZW5jaCIsImlhdCI6MTc2MDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJlLW9mLXRoZS1iZW5jaC10b2tlbi0wMTIzNDU2Nzg5
old=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJvbGQiLCJleHAiOjE3MDAwMDAwMDB9.b2xkLXNpZ25hdHVyZQ

# The 100-line .env: comments, blank lines, quoted and bare values; TOKEN on line 50.
env_file() { # LINES
  local i
  for ((i = 1; i <= $1; i++)); do
    if ((i == $1 / 2)); then
      echo "TOKEN=$old"
      continue
    fi
    case $((i % 6)) in
      0) echo "# settings of service $i" ;;
      1) echo "SERVICE_${i}_URL=https://svc-$i.example.com:8443/api" ;;
      2) echo "SERVICE_${i}_NAME='service number $i'" ;;
      3) echo "export SERVICE_${i}_GREETING=\"hello, world $i\"" ;;
      4) echo "SERVICE_${i}_TIMEOUT=$i" ;;
      5) echo "SERVICE_${i}_KEY=AKIA$(printf %016d "$i")" ;;
    esac
  done
}
env_file 100 >"$work/base.env"
env_file 100000 >"$work/big.env"

# The mint, as a program (a real mint is one too).
printf '#!/bin/sh\nexec /usr/bin/printf "%%s\\n" %s\n' "$jwt" >"$work/mint"
# The naive cron script from README's pattern: mint, sed -i, nothing else.
cat >"$work/naive.sh" <<EOF
#!/bin/sh
set -eu
token=\$("$work/mint")
sed -i "s|^TOKEN=.*|TOKEN=\$token|" "\$1"
EOF
# The same with python-dotenv (its CLI takes the value in argv).
cat >"$work/pydotenv.sh" <<EOF
#!/bin/sh
set -eu
token=\$("$work/mint")
dotenv -f "\$1" set TOKEN "\$token" >/dev/null
EOF
# prepare.sh NAME...: put NAME.env back to the file before the rotation.
cat >"$work/prepare.sh" <<EOF
#!/bin/sh
for f in "\$@"; do cp "$work/base.env" "$work/\$f.env"; done
EOF
chmod +x "$work/mint" "$work/naive.sh" "$work/pydotenv.sh" "$work/prepare.sh"

echo "== 1. one rotation of a 100-line .env" >&2
# A fourth row shows what the fsyncs cost: credshim with its target on tmpfs, where fsync is free.
shm=$(mktemp -d -p /dev/shm 2>/dev/null || true)
[ -n "$shm" ] && trap 'rm -rf "$work" "$shm"' EXIT
tmpfs_row=()
if [ -n "$shm" ]; then
  tmpfs_row=(--prepare "cp $work/base.env $shm/credshim.env"
    -n 'credshim, target on tmpfs (no fsync cost)'
    "$bin rotate --target $shm/credshim.env --set TOKEN -- $work/mint")
fi
# One --prepare per command, so each file ends up rotated, to be checked below.
hyperfine -N --warmup 10 --min-runs "${RUNS:-200}" \
  --export-markdown "$work/rotation.md" --export-json "$work/rotation.json" \
  --prepare "$work/prepare.sh credshim" \
  -n credshim "$bin rotate --target $work/credshim.env --set TOKEN -- $work/mint" \
  --prepare "$work/prepare.sh sed" \
  -n 'naive cron script (sed -i)' "$work/naive.sh $work/sed.env" \
  --prepare "$work/prepare.sh py" \
  -n 'python-dotenv (dotenv set)' "$work/pydotenv.sh $work/py.env" \
  "${tmpfs_row[@]}" >&2

# Every tool must really have rotated: credshim's file is byte-identical to sed's.
grep -qx "TOKEN=$jwt" "$work/credshim.env"
cmp "$work/credshim.env" "$work/sed.env"
grep -qx "TOKEN='$jwt'" "$work/py.env"
[ -z "$shm" ] || cmp "$shm/credshim.env" "$work/sed.env"

ratios=$(python3 - "$work/rotation.json" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
names = ("credshim", "naive cron script (sed -i)", "python-dotenv (dotenv set)")
def verdict(ok):
    return "goal met" if ok else "goal NOT met"
print("| ratio | mean wall time | median wall time | CPU time (user + sys) | goal |")
print("|---|---:|---:|---:|---|")
c, s, p = (r[k] for k in names)
def ratios(a, b):
    cpu = lambda x: x["user"] + x["system"]
    return [a["mean"] / b["mean"], a["median"] / b["median"], cpu(a) / cpu(b)]
cs = ratios(c, s)
pc = ratios(p, c)
print(f"| credshim / naive script | {cs[0]:.2f}x | **{cs[1]:.2f}x** | {cs[2]:.2f}x | median at most 1.0x: {verdict(cs[1] <= 1.0)} |")
print(f"| python-dotenv / credshim | **{pc[0]:.1f}x** | {pc[1]:.1f}x | {pc[2]:.1f}x | at least 10x: {verdict(pc[0] >= 10)} |")
t = r.get("credshim, target on tmpfs (no fsync cost)")
if t:
    print()
    print(f"credshim with its target on tmpfs: {t['mean'] * 1e3:.1f} ms mean, {t['median'] * 1e3:.1f} ms median "
          f"({t['mean'] / s['mean']:.2f}x the naive script's mean on disk).")
EOF
)

echo "== 1b. from the mint's exit to credshim noticing it" >&2
# strace -ttt timestamps the mint's exit_group and credshim's wait for it: the gap is how long
# credshim takes to notice. 20 runs; strace slows both sides alike.
cat >"$work/notice.py" <<'EOF'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
main = int(lines[0].split()[0])
exit_at = None
for l in lines:
    pid, ts, rest = l.split(None, 2)
    if int(pid) != main and rest.startswith("exit_group(") and exit_at is None:
        exit_at = float(ts)
    if int(pid) == main and exit_at is not None and re.match(r"(waitid|wait4)\(", rest):
        print(f"{(float(ts) - exit_at) * 1e6:.0f}")
        break
EOF
notice=$(for i in $(seq 20); do
  "$work/prepare.sh" credshim
  strace -f -ttt -e trace=exit_group,waitid,wait4 -o "$work/notice.$i" \
    "$bin" rotate --target "$work/credshim.env" --set TOKEN -- "$work/mint" >/dev/null 2>&1 || true
  python3 "$work/notice.py" "$work/notice.$i"
done | sort -n)
notice_median=$(sed -n "$(( ($(wc -l <<<"$notice") + 1) / 2 ))p" <<<"$notice")
notice_max=$(tail -n 1 <<<"$notice")

echo "== 2. the splice alone" >&2
cargo bench --quiet --bench splice >"$work/splice.md"
cargo bench --quiet --bench splice -- yaml 1000 10000 100000 >"$work/splice-yaml.md"

echo "== 3. peak memory" >&2
maxrss() { # KiB, the largest of 5 runs of the command
  local i kib max=0
  for i in 1 2 3 4 5; do
    "$work/prepare.sh" credshim sed py
    cp "$work/big.env" "$work/big-credshim.env"
    kib=$(/usr/bin/time -v "$@" 2>&1 >/dev/null | sed -n 's/.*Maximum resident set size (kbytes): //p')
    if ((kib > max)); then max=$kib; fi
  done
  echo "$max"
}
mem_credshim=$(maxrss "$bin" rotate --target "$work/credshim.env" --set TOKEN -- "$work/mint")
mem_sed=$(maxrss "$work/naive.sh" "$work/sed.env")
mem_py=$(maxrss "$work/pydotenv.sh" "$work/py.env")
mem_big=$(maxrss "$bin" rotate --target "$work/big-credshim.env" --set TOKEN -- "$work/mint")
big_size=$(du -k "$work/big.env" | cut -f1)
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
mem_goal=$([ "$mem_credshim" -lt 8192 ] && echo "goal met" || echo "goal NOT met")

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
# Section 4 is benches/formats.sh's: kept as it is.
formats=$(sed -n '/^## 4\. /,$p' "$out" 2>/dev/null || true)
{
  echo "# credshim benchmarks"
  echo
  echo "Reproduce with \`benches/run.sh\` (it writes this file). Measured $(date -u +%Y-%m-%dT%H:%MZ)."
  echo
  echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
    "$(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)," \
    "Linux $(uname -r); load average $load_before before, $load_after after."
  echo "Tools: $(hyperfine --version), $(sed --version | head -1), python-dotenv $(python3 -c 'import importlib.metadata as m; print(m.version("python-dotenv"))')" \
    "on Python $(python3 -c 'import platform; print(platform.python_version())'), $(rustc --version | cut -d' ' -f1-2), release profile (lto, codegen-units=1)."
  echo
  echo "## 1. One rotation of a 100-line .env"
  echo
  echo "Mint: a program that \`printf\`s a JWT; no reload. Each run starts from the same file."
  echo "credshim also takes a lock, verifies the new file with dotenvy, fsyncs the temp file and"
  echo "the directory and renames; \`sed -i\` does none of that. Ratios of the mean are the goal's"
  echo "measure; the median and the CPU time are less sensitive to a busy machine."
  echo
  cat "$work/rotation.md"
  echo
  echo "$ratios"
  echo
  echo "From the mint's exit to credshim noticing it (strace -ttt, exit_group to credshim's wait, 20"
  echo "runs): median ${notice_median} µs, at most ${notice_max} µs. credshim waits on a pidfd in one"
  echo "poll(2) with the mint's pipes: no polling interval."
  echo
  echo "## 2. The splice alone"
  echo
  echo "\`credshim::format::env::splice\` (pure, in memory) setting one key of an n-line file. CPU time is"
  echo "the thread's own, which other processes on the machine disturb less than wall time."
  echo
  cat "$work/splice.md"
  echo
  echo "\`credshim::format::yaml::splice\` setting \`/backend/database/connection/password\` in an"
  echo "app-config.yaml-shaped file of n lines (parsed by yaml-rust2 and yaml-edit, checked again):"
  echo
  cat "$work/splice-yaml.md"
  echo
  echo "## 3. Peak memory of one rotation"
  echo
  echo "Maximum resident set size from \`/usr/bin/time -v\`, largest of 5 runs."
  echo
  echo "| rotation | max RSS |"
  echo "|---|---:|"
  echo "| credshim, 100-line .env | $(mib "$mem_credshim") |"
  echo "| naive cron script (sh + printf + sed), 100-line .env | $(mib "$mem_sed") |"
  echo "| python-dotenv, 100-line .env | $(mib "$mem_py") |"
  echo "| credshim, 100,000-line .env ($(mib "$big_size")) | $(mib "$mem_big") |"
  echo
  echo "- credshim on a 100-line .env: **$(mib "$mem_credshim")** (goal: under 8 MiB; $mem_goal)"
} >"$out"
[ -z "$formats" ] || printf '\n%s\n' "$formats" >>"$out"
echo "wrote $out" >&2
