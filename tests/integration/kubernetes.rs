//! contrib/kubernetes: what the schemas cannot check (the schedule, the RBAC scope, the failure
//! policy), and a golden run of the CronJob's own reload command through a real `credshim rotate`
//! with a fake `kubectl` on PATH.
//!
//! YAML is read through python3's PyYAML (a dependency of kubernetes-validate, which
//! .ci/offline-validate installs), so no YAML crate is needed; without it these tests skip.

use crate::harness::{Test, skip};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/kubernetes");

/// The exit codes no retry can fix: the Job must fail at once on them.
const FATAL: [i64; 5] = [64, 65, 66, 77, 78];

/// Whether python3 can import PyYAML; skips (or fails under CI) when not.
fn have_pyyaml() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import yaml"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip("python3 with PyYAML (pip install pyyaml) to read contrib/kubernetes");
    }
    ok
}

/// Every document of a YAML stream, as JSON.
fn yaml_docs(yaml: &str) -> Vec<Value> {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml\n\
             json.dump([d for d in yaml.safe_load_all(sys.stdin) if d is not None], sys.stdout)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "YAML does not parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    match serde_json::from_slice(&out.stdout).unwrap() {
        Value::Array(docs) => docs,
        other => panic!("not a list of documents: {other}"),
    }
}

fn yaml_file(path: &Path) -> Vec<Value> {
    yaml_docs(&fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The plain manifests of contrib/kubernetes/base (what `kubectl apply -f` would send).
fn base_manifests() -> Vec<Value> {
    let mut paths: Vec<PathBuf> = fs::read_dir(Path::new(DIR).join("base"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && p.file_name().is_some_and(|n| n != "kustomization.yaml")
        })
        .collect();
    paths.sort();
    assert!(paths.len() >= 5, "manifests missing: {paths:?}");
    paths.iter().flat_map(|p| yaml_file(p)).collect()
}

/// `kubectl kustomize DIR`, or None (after skip) without kubectl.
fn kustomize(dir: &str) -> Option<Vec<Value>> {
    let out = match Command::new("kubectl").args(["kustomize", dir]).output() {
        Ok(out) => out,
        Err(e) => {
            skip(&format!("kubectl (to render the kustomizations): {e}"));
            return None;
        }
    };
    assert!(
        out.status.success(),
        "kubectl kustomize {dir}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(yaml_docs(&String::from_utf8(out.stdout).unwrap()))
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn container_env(cronjob: &Value, name: &str) -> Option<String> {
    cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        .as_array()?
        .iter()
        .filter_map(|c| c["env"].as_array())
        .flatten()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str())
        .map(str::to_string)
}

/// The minute field's values, when it is a list of fixed minutes (`3,13,23`): no `*`, no step,
/// no range.
fn fixed_minutes(schedule: &str) -> Result<Vec<u32>, String> {
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("schedule {schedule:?} is not five fields"));
    }
    let minutes: Option<Vec<u32>> = fields[0]
        .split(',')
        .map(|m| {
            (!m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
                .then(|| m.parse().ok())
                .flatten()
                .filter(|&m| m < 60)
        })
        .collect();
    minutes.ok_or_else(|| format!("minute field of {schedule:?} is not fixed minutes"))
}

/// Everything wrong with a set of manifests that the schemas cannot see; empty when all is well.
fn problems(docs: &[Value]) -> Vec<String> {
    let mut bad = Vec::new();
    for kind in ["ClusterRole", "ClusterRoleBinding"] {
        if !of_kind(docs, kind).is_empty() {
            bad.push(format!(
                "a {kind}: the job needs nothing outside its namespace"
            ));
        }
    }
    let cronjobs = of_kind(docs, "CronJob");
    if cronjobs.len() != 1 {
        bad.push(format!("{} CronJobs, not 1", cronjobs.len()));
        return bad;
    }
    let cj = cronjobs[0];
    let spec = &cj["spec"];
    if spec["concurrencyPolicy"] != "Forbid" {
        bad.push("concurrencyPolicy is not Forbid".into());
    }
    if spec["startingDeadlineSeconds"]
        .as_i64()
        .is_none_or(|s| s < 10)
    {
        bad.push("startingDeadlineSeconds missing or below 10".into());
    }
    if spec["timeZone"].as_str().is_none_or(str::is_empty) {
        bad.push("no timeZone".into());
    }
    for limit in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        if !spec[limit].is_i64() {
            bad.push(format!("no {limit}"));
        }
    }
    let job = &spec["jobTemplate"]["spec"];
    if !job["backoffLimit"].is_i64() {
        bad.push("no backoffLimit".into());
    }
    match fixed_minutes(spec["schedule"].as_str().unwrap_or_default()) {
        Err(e) => bad.push(e),
        Ok(minutes) => {
            // The shortest gap between two runs, around the hour (the hour field being `*`).
            let mut m = minutes.clone();
            m.sort_unstable();
            m.dedup();
            let gap = m
                .iter()
                .zip(m.iter().cycle().skip(1))
                .map(|(a, b)| (b + 60 - a - 1) % 60 + 1)
                .min()
                .unwrap_or(60);
            match job["activeDeadlineSeconds"].as_i64() {
                Some(d) if d < i64::from(gap) * 60 => {}
                other => bad.push(format!(
                    "activeDeadlineSeconds {other:?} is not below the {gap}-minute interval"
                )),
            }
        }
    }
    let pod = &job["template"]["spec"];
    if pod["restartPolicy"] != "Never" {
        bad.push("restartPolicy is not Never".into());
    }
    let fatal: BTreeSet<i64> = job["podFailurePolicy"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["action"] == "FailJob" && r["onExitCodes"]["operator"] == "In")
        .filter_map(|r| r["onExitCodes"]["values"].as_array())
        .flatten()
        .filter_map(Value::as_i64)
        .collect();
    if !FATAL.iter().all(|c| fatal.contains(c)) {
        bad.push(format!(
            "podFailurePolicy fails the Job at once on {fatal:?}, not on all of {FATAL:?}"
        ));
    }

    // RBAC: only get/patch, only on named objects; the Secret the reload writes among them.
    let roles = of_kind(docs, "Role");
    if roles.is_empty() {
        bad.push("no Role".into());
    }
    let mut named_secrets = BTreeSet::new();
    for role in &roles {
        for rule in role["rules"].as_array().into_iter().flatten() {
            let list = |k: &str| -> Vec<String> {
                rule[k]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            };
            let verbs = list("verbs");
            if verbs.is_empty() || verbs.iter().any(|v| v != "get" && v != "patch") {
                bad.push(format!(
                    "a Role rule with verbs {verbs:?}: only get and patch"
                ));
            }
            let names = list("resourceNames");
            if names.is_empty() || names.iter().any(|n| n.is_empty() || n == "*") {
                bad.push(format!("a Role rule without resourceNames: {rule}"));
            }
            if list("resources").iter().any(|r| r.contains('*')) {
                bad.push(format!("a Role rule on resources '*': {rule}"));
            }
            if list("resources").contains(&"secrets".to_string()) {
                named_secrets.extend(names);
            }
        }
    }
    for binding in of_kind(docs, "RoleBinding") {
        if binding["roleRef"]["kind"] != "Role" {
            bad.push("a RoleBinding to something other than a Role".into());
        }
    }

    // The reload updates one pre-created Secret in place, by server-side apply.
    let reload = container_env(cj, "CREDSHIM_RELOAD").unwrap_or_default();
    for needed in [
        "kubectl create secret generic ",
        "--from-file=",
        "--dry-run=client -o json",
        "kubectl apply --server-side --field-manager=credshim --force-conflicts -f -",
    ] {
        if !reload.contains(needed) {
            bad.push(format!("the reload lacks {needed:?}: {reload}"));
        }
    }
    if reload.contains("delete") || reload.contains("replace") {
        bad.push(format!("the reload deletes or replaces: {reload}"));
    }
    let secret = reload
        .split("kubectl create secret generic ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    if !named_secrets.contains(&secret) {
        bad.push(format!(
            "the Role does not name the Secret {secret:?} (it names {named_secrets:?})"
        ));
    }
    if !of_kind(docs, "Secret")
        .iter()
        .any(|s| s["metadata"]["name"] == secret.as_str())
    {
        bad.push(format!("the Secret {secret:?} is not pre-created"));
    }
    for s in of_kind(docs, "Secret") {
        if s.get("data").is_some() || s.get("stringData").is_some() {
            bad.push("the pre-created Secret has data: re-applying would reset the token".into());
        }
    }
    if reload.contains("rollout restart") {
        let restarts_allowed = roles.iter().any(|r| {
            r["rules"].as_array().into_iter().flatten().any(|rule| {
                rule["resources"]
                    .as_array()
                    .is_some_and(|a| a.contains(&json!("deployments")))
            })
        });
        if !restarts_allowed {
            bad.push("the reload restarts a Deployment the Role does not name".into());
        }
    }
    bad
}

#[track_caller]
fn assert_sound(what: &str, docs: &[Value]) {
    let bad = problems(docs);
    assert!(bad.is_empty(), "{what}:\n  {}", bad.join("\n  "));
}

#[test]
fn manifests_have_what_the_schemas_cannot_check() {
    if !have_pyyaml() {
        return;
    }
    assert_sound("contrib/kubernetes/base", &base_manifests());
    for dir in [DIR.to_string(), format!("{DIR}/rollout-restart")] {
        let Some(docs) = kustomize(&dir) else { return };
        assert_sound(&dir, &docs);
    }
}

/// Each rule of `problems` catches its mistake (so the test above can fail).
#[test]
fn manifest_checks_catch_each_mistake() {
    if !have_pyyaml() {
        return;
    }
    let good = base_manifests();
    let cj = good.iter().position(|d| d["kind"] == "CronJob").unwrap();
    let role = good.iter().position(|d| d["kind"] == "Role").unwrap();
    let env_pos = |docs: &[Value], name: &str| {
        docs[cj]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .position(|e| e["name"] == name)
            .unwrap()
    };
    let reload_at = env_pos(&good, "CREDSHIM_RELOAD");
    type Break = Box<dyn Fn(&mut Vec<Value>)>;
    let breaks: Vec<(&str, Break)> = vec![
        (
            "concurrencyPolicy",
            Box::new(move |d| d[cj]["spec"]["concurrencyPolicy"] = json!("Allow")),
        ),
        (
            "startingDeadlineSeconds",
            Box::new(move |d| d[cj]["spec"]["startingDeadlineSeconds"] = json!(5)),
        ),
        (
            "minute field",
            Box::new(move |d| d[cj]["spec"]["schedule"] = json!("* */8 * * *")),
        ),
        (
            "minute field",
            Box::new(move |d| d[cj]["spec"]["schedule"] = json!("*/10 * * * *")),
        ),
        (
            "activeDeadlineSeconds",
            Box::new(move |d| {
                d[cj]["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] = json!(600)
            }),
        ),
        (
            "restartPolicy",
            Box::new(move |d| {
                d[cj]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] =
                    json!("OnFailure");
            }),
        ),
        (
            "podFailurePolicy",
            Box::new(move |d| {
                d[cj]["spec"]["jobTemplate"]["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"]
                    ["values"] = json!([64, 65, 66, 78]);
            }),
        ),
        (
            "verbs",
            Box::new(move |d| d[role]["rules"][0]["verbs"] = json!(["get", "patch", "delete"])),
        ),
        (
            "resourceNames",
            Box::new(move |d| {
                d[role]["rules"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("resourceNames");
            }),
        ),
        (
            "ClusterRole",
            Box::new(move |d| {
                let mut c = d[role].clone();
                c["kind"] = json!("ClusterRole");
                d.push(c);
            }),
        ),
        (
            "deletes or replaces",
            Box::new(move |d| {
                d[cj]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
                    [reload_at]["value"] = json!(
                    "kubectl delete secret backstage-lakebase; kubectl create secret generic \
                     backstage-lakebase --from-file=token=t --dry-run=client -o json | kubectl \
                     apply --server-side --field-manager=credshim --force-conflicts -f -"
                );
            }),
        ),
        (
            "has data",
            Box::new(|d| {
                let s = d.iter_mut().find(|x| x["kind"] == "Secret").unwrap();
                s["data"] = json!({"token": ""});
            }),
        ),
    ];
    for (needle, breaking) in breaks {
        let mut docs = good.clone();
        breaking(&mut docs);
        let bad = problems(&docs);
        assert!(
            bad.iter().any(|p| p.contains(needle)),
            "breaking the {needle} went unnoticed: {bad:?}"
        );
    }
}

/// A stand-in for kubectl: each call records its argv and stdin in its own files, and answers
/// `create secret generic --dry-run=client -o json` the way kubectl does.
const FAKE_KUBECTL: &str = r#"
d="$TEST_DIR/kubectl"
mkdir -p "$d"
printf '%s\n' "$@" > "$d/$$.argv"
cat > "$d/$$.stdin"
echo "kubectl $1" >> "$TEST_DIR/log"
case "$1 $2 $3" in
"create secret generic")
  name=$4
  shift 4
  data='' dry='' out=''
  for a in "$@"; do
    case "$a" in
    --from-file=*=*)
      spec=${a#--from-file=}
      key=${spec%%=*}
      file=${spec#*=}
      [ -f "$file" ] || { echo "error: error reading $file: no such file or directory" >&2; exit 1; }
      data="$data${data:+,
}        \"$key\": \"$(base64 -w0 < "$file")\""
      ;;
    --dry-run=client) dry=1 ;;
    -o) out=next ;;
    json) [ "$out" = next ] && out=json ;;
    *) echo "fake kubectl: unexpected argument $a" >&2; exit 2 ;;
    esac
  done
  if [ -z "$dry" ] || [ "$out" != json ]; then
    echo "fake kubectl: create would reach the server" >&2
    exit 2
  fi
  printf '{\n    "kind": "Secret",\n    "apiVersion": "v1",\n    "metadata": {\n        "name": "%s",\n        "creationTimestamp": null\n    },\n    "data": {\n%s\n    }\n}\n' "$name" "$data"
  ;;
"apply --server-side "*)
  name=$(sed -n 's/^        "name": "\(.*\)",$/\1/p' "$d/$$.stdin")
  echo "secret/$name serverside-applied"
  ;;
"rollout restart "*)
  echo "$3 restarted"
  ;;
*)
  echo "fake kubectl: unexpected command $*" >&2
  exit 2
  ;;
esac
"#;

/// A JWT that expires in an hour, with a signature no test output could contain by chance.
fn fresh_jwt() -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        part(json!({"alg": "HS256", "typ": "JWT"})),
        part(json!({"sub": "lakebase", "exp": exp})),
        URL_SAFE_NO_PAD.encode(format!("golden-signature-{}", fastrand::u64(..)))
    )
}

/// The calls the fake kubectl recorded: (argv, stdin), in no particular order.
fn kubectl_calls(dir: &Path) -> Vec<(Vec<String>, String)> {
    let d = dir.join("kubectl");
    let Ok(entries) = fs::read_dir(&d) else {
        return Vec::new();
    };
    let mut calls: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "argv"))
        .map(|p| {
            let argv = fs::read_to_string(&p).unwrap();
            let stdin = fs::read_to_string(p.with_extension("stdin")).unwrap_or_default();
            (argv.lines().map(str::to_string).collect(), stdin)
        })
        .collect();
    calls.sort();
    calls
}

/// The applied manifest with every data value replaced by its length: safe to print.
fn masked(secret: &Value) -> Value {
    let mut m = secret.clone();
    if let Some(data) = m["data"].as_object_mut() {
        for v in data.values_mut() {
            let n = STANDARD
                .decode(v.as_str().unwrap_or_default())
                .map_or(0, |b| b.len());
            *v = json!(format!("<masked: {n} bytes>"));
        }
    }
    m
}

/// `kubernetes-validate --strict` on `path` for the oldest and newest versions we support, when
/// it is installed (.ci/offline-validate puts it on PATH).
fn kubernetes_validate(path: &Path) {
    for version in ["1.27.0", "1.37.0"] {
        let out = match Command::new("kubernetes-validate")
            .args(["--strict", "--kubernetes-version", version])
            .arg(path)
            .output()
        {
            Ok(out) => out,
            Err(e) => {
                skip(&format!(
                    "kubernetes-validate (pip install kubernetes-validate): {e}"
                ));
                return;
            }
        };
        let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !text.contains("WARN"),
            "the applied manifest does not validate for {version}:\n{text}"
        );
    }
}

/// Run the CronJob's configuration (its CREDSHIM_* variables, the reload command verbatim)
/// through a real `credshim rotate`, with a fake mint and the fake kubectl first on PATH.
fn golden_reload(cronjob: &Value, restarts: bool) {
    let token = fresh_jwt();
    let mint_output = json!({"expire_time": "2099-01-01T00:00:00Z", "token": token}).to_string();
    let container = &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    let mut t = Test::new()
        .file("bin/.keep", "")
        .script("bin/kubectl", FAKE_KUBECTL)
        .mint(&format!("printf '%s\\n' '{mint_output}'"));
    let path = format!(
        "{}:{}",
        t.path("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut reload = String::new();
    for e in container["env"].as_array().unwrap() {
        let (name, value) = (e["name"].as_str().unwrap(), e["value"].as_str());
        match (name, value) {
            // The mint after `--` (the fake) stands in for CREDSHIM_MINT; the target moves into
            // the test's directory, as /work/token is the pod's emptyDir.
            ("CREDSHIM_MINT", _) => {}
            ("CREDSHIM_TARGET" | "TOKEN_FILE", _) => t = t.env(name, "work/token"),
            (_, Some(v)) if name.starts_with("CREDSHIM_") => {
                if name == "CREDSHIM_RELOAD" {
                    reload = v.to_string();
                }
                t = t.env(name, v);
            }
            _ => {}
        }
    }
    assert!(!reload.is_empty(), "the CronJob sets no CREDSHIM_RELOAD");
    let t = t.env("PATH", &path).file("work/.keep", "");

    let done = t
        .run()
        .status(0)
        .hides(&token)
        .file_is("work/token", &token);
    let dir = done.test().dir.path().to_path_buf();
    let calls = kubectl_calls(&dir);
    let b64 = STANDARD.encode(&token);
    for (argv, _) in &calls {
        for arg in argv {
            assert!(
                !arg.contains(&token) && !arg.contains(&b64),
                "the secret is in kubectl's argv: {:?}",
                argv.iter()
                    .map(|a| a.replace(&token, "<TOKEN>").replace(&b64, "<BASE64 TOKEN>"))
                    .collect::<Vec<_>>()
            );
        }
        assert!(
            !argv.iter().any(|a| a == "delete" || a == "replace"),
            "kubectl was asked to {argv:?}"
        );
    }
    let subcommands: Vec<&str> = calls.iter().map(|(a, _)| a[0].as_str()).collect();
    let mut expected = vec!["apply", "create"];
    if restarts {
        expected.push("rollout");
    }
    assert_eq!(subcommands, expected, "kubectl calls: {calls:?}");
    let log = done.log();
    if restarts {
        // Backstage restarts after the Secret holds the new token, not before.
        assert_eq!(
            log.last().map(String::as_str),
            Some("kubectl rollout"),
            "{log:?}"
        );
    }

    let (_, applied_text) = calls.iter().find(|(a, _)| a[0] == "apply").unwrap();
    let applied: Value = serde_json::from_str(applied_text)
        .unwrap_or_else(|e| panic!("kubectl apply read no JSON ({e}): {applied_text:?}"));
    assert_eq!(applied["apiVersion"], "v1");
    assert_eq!(applied["kind"], "Secret");
    assert_eq!(applied["metadata"]["name"], "backstage-lakebase");
    assert!(applied.get("stringData").is_none());
    let data = applied["data"].as_object().expect("data");
    assert_eq!(data.len(), 1, "{:?}", masked(&applied));
    let value = STANDARD
        .decode(data["token"].as_str().expect("data.token"))
        .expect("data.token is base64");
    assert_eq!(
        value,
        token.as_bytes(),
        "the applied value is not the new token"
    );
    let applied_path = dir.join("applied.json");
    fs::write(&applied_path, applied_text).unwrap();
    kubernetes_validate(&applied_path);
    eprintln!(
        "the reload applied (value masked):\n{}",
        serde_json::to_string_pretty(&masked(&applied)).unwrap()
    );

    // The next run finds the token it wrote fresh (more than CREDSHIM_MIN_TTL left): as a new
    // pod that copied the Secret into its target, it neither mints nor calls kubectl.
    let done = done.again().run().status(0);
    assert_eq!(kubectl_calls(&dir).len(), calls.len(), "kubectl ran again");
    assert_eq!(done.log().iter().filter(|l| *l == "mint").count(), 1);
}

#[test]
fn reload_updates_the_secret_in_place_without_the_secret_in_argv() {
    if !have_pyyaml() {
        return;
    }
    let docs = yaml_file(&Path::new(DIR).join("base/cronjob.yaml"));
    golden_reload(&docs[0], false);
}

#[test]
fn rollout_restart_variant_restarts_after_the_secret_is_updated() {
    if !have_pyyaml() {
        return;
    }
    let mut cronjob = yaml_file(&Path::new(DIR).join("base/cronjob.yaml")).remove(0);
    let patch = yaml_file(&Path::new(DIR).join("rollout-restart/cronjob-reload.yaml")).remove(0);
    let reload = container_env(&patch, "CREDSHIM_RELOAD").expect("the patch sets the reload");
    let env = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array_mut()
        .unwrap();
    let e = env
        .iter_mut()
        .find(|e| e["name"] == "CREDSHIM_RELOAD")
        .unwrap();
    e["value"] = json!(reload);
    assert!(
        reload.contains("kubectl rollout restart deployment/"),
        "{reload}"
    );
    golden_reload(&cronjob, true);
}
