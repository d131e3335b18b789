"""Checkov's Kubernetes checks beside the KUBE chapter, finding by finding, on the same manifest sets.

    python benchmarks/checkov_kube.py [--checkov PATH] [--markdown OUT]

The sets are tests/data/kube/ (each holds one shape the KUBE chapter once judged wrong) and the
reference manifests, k8s/. For each set the script runs our chapter as a user would (`pytest
suites/test_kube.py --target manifests --manifests SET`, reading reports/conformance.json) and
Checkov (`checkov -d SET --framework kubernetes -o json`), then prints one row per finding the
set holds: whether our control names it, and whether Checkov's check for it fails on the
object. A finding nobody should report (a switch, a read-only /var/log) is a row too.

Checkov is optional (pyproject's extra `checkov`), never a dependency of the suite: it pins
`packaging<24`, older than pytest's, so give it a virtualenv of its own
(`python -m venv /tmp/checkov && /tmp/checkov/bin/pip install checkov`) and name its
executable with --checkov (default: `checkov` on the PATH). Without it, the table says so
in Checkov's column and our side still runs.

Exit 0 when every row's expectation of our chapter holds, 1 otherwise, 4 on bad input.
docs/kubernetes.md holds one measured run.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETS = ROOT / "tests" / "data" / "kube"


@dataclass(frozen=True)
class Finding:
    set: str  # a directory of tests/data/kube/, or "k8s" for the reference manifests
    what: str
    control: str  # ours
    words: str  # what our control's message says when it names the finding
    named: bool  # whether our control should name it (False: a false alarm if it does)
    check: str = ""  # Checkov's check for it, "" when it has none
    resource: str = ""  # Checkov's name of the object: Kind.namespace.name


FINDINGS = (
    Finding("host-access", "hostNetwork", "KUBE-016", "node-agent sets hostNetwork", True,
            "CKV_K8S_19", "DaemonSet.monitoring.node-agent"),
    Finding("host-access", "hostPID", "KUBE-016", "node-agent sets hostPID", True,
            "CKV_K8S_17", "DaemonSet.monitoring.node-agent"),
    Finding("host-access", "hostIPC", "KUBE-016", "node-agent sets hostIPC", True,
            "CKV_K8S_18", "DaemonSet.monitoring.node-agent"),
    Finding("host-access", "hostPort 9100", "KUBE-016", "binds host port 9100", True,
            "CKV_K8S_26", "DaemonSet.monitoring.node-agent"),
    Finding("host-access", "the Docker socket mounted", "KUBE-016", "mounts host path /var/run/docker.sock", True,
            "CKV_K8S_27", "DaemonSet.monitoring.node-agent"),
    Finding("host-access", "the node's / mounted (read-only)", "KUBE-016", "mounts host path / ", True),
    Finding("host-access", "/var/lib/kubelet/pods mounted writable", "KUBE-016",
            "mounts host path /var/lib/kubelet/pods", True),
    Finding("host-access", "/var/log mounted read-only (not root-equivalent)", "KUBE-016", "/var/log", False),
    Finding("host-access", "no seccomp profile", "KUBE-017", "node-agent container agent names no seccomp", True,
            "CKV_K8S_31", "DaemonSet.monitoring.node-agent"),
    Finding("host-access", "API token mounted by default", "KUBE-018", "node-agent mounts its token by default", True,
            "CKV_K8S_38", "DaemonSet.monitoring.node-agent"),
    Finding("one-replica-gateway", "one replica behind a Service and an Ingress (a gateway by structure)", "KUBE-006",
            "shop (gateway) runs 1 replica", True),
    Finding("one-replica-gateway", "no PodDisruptionBudget for it", "KUBE-007", "shop (gateway) has no PodDisruptionBudget",
            True),
    Finding("one-replica-gateway", "writable root filesystem", "KUBE-012", "shop container shop", True,
            "CKV_K8S_22", "Deployment.shop.shop"),
    Finding("seed-004", "seed 004's empacts-api: one replica (a gateway by its name)", "KUBE-006",
            "empacts-api (gateway) runs 1 replica", True),
    Finding("seed-004", "no PodDisruptionBudget", "KUBE-007", "empacts-api (gateway) has no PodDisruptionBudget", True),
    Finding("seed-004", "image empacts/api:latest", "KUBE-014", "empacts/api:latest", True,
            "CKV_K8S_14", "Deployment.default.empacts-api"),
    Finding("switches-not-secrets", "MYSQL_ALLOW_EMPTY_PASSWORD \"1\": root with an empty password", "KUBE-013",
            "MYSQL_ALLOW_EMPTY_PASSWORD=1 gives the MySQL root account an empty password", True),
    Finding("switches-not-secrets", "ARGOCD_SERVER_DISABLE_AUTH (a switch, not a secret)", "KUBE-013",
            "ARGOCD_SERVER_DISABLE_AUTH", False),
    Finding("switches-not-secrets", "MYSQL_RANDOM_ROOT_PASSWORD \"yes\" (a switch)", "KUBE-013",
            "MYSQL_RANDOM_ROOT_PASSWORD", False),
    Finding("haproxy-not-edge", "Redis HA's haproxy reaching Redis (not the edge: its clients name it)", "KUBE-015",
            "redis-ha-haproxy", False),
    Finding("rollout-percent-hpa", "maxUnavailable 100% on 1 replica, HPA maxReplicas 5", "KUBE-004",
            "autoscaled-api maxUnavailable is 100%: 5 pods at 5 replicas", True),
    Finding("rollout-percent-hpa", "maxUnavailable 100% on 1 replica, no HPA (judged at 2)", "KUBE-004",
            "single-api maxUnavailable is 100%: 2 pods at 2 replicas", True),
    Finding("rollout-percent-hpa", "Kubernetes' 25% defaults on 3 replicas (1 pod each way)", "KUBE-004",
            "defaults-api", False),
    Finding("k8s", "the reference manifests: secrets as env variables (secretKeyRef)", "KUBE-013", "secretKeyRef", False,
            "CKV_K8S_35", "Deployment.orders-platform.api-gateway"),
    Finding("k8s", "the reference manifests: images by tag, not digest", "KUBE-014", "conformance/", False,
            "CKV_K8S_43", "Deployment.orders-platform.api-gateway"),
    Finding("k8s", "the reference manifests: UIDs below 10000 (the images' own users)", "KUBE-009", "runs as user",
            False, "CKV_K8S_40", "Deployment.orders-platform.api-gateway"),
)


def set_path(name: str) -> Path:
    return ROOT / "k8s" if name == "k8s" else SETS / name


def run_ours(path: Path) -> tuple[dict[str, tuple[str, str]], float]:
    """control id -> (status, message) of the KUBE chapter on the set, and the run's seconds."""
    with tempfile.TemporaryDirectory(prefix="checkov-kube-") as reports:
        command = [sys.executable, "-m", "pytest", "suites/test_kube.py", "-p", "no:cacheprovider", "-q",
                   "--target", "manifests", "--manifests", str(path), "--reports-dir", reports]
        started = time.monotonic()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
        seconds = time.monotonic() - started
        report = Path(reports) / "conformance.json"
        if not report.exists():
            raise SystemExit(f"our run on {path} wrote no report (exit {result.returncode}):\n{result.stdout[-2000:]}")
        controls = json.loads(report.read_text())["controls"]
    return {c["id"]: (c["status"], c.get("message") or "") for c in controls if c["id"].startswith("KUBE-")}, seconds


def run_checkov(checkov: str, path: Path) -> tuple[dict[tuple[str, str], str], float]:
    """(check id, resource) -> PASSED/FAILED, and the run's seconds."""
    command = [checkov, "-d", str(path), "--framework", "kubernetes", "-o", "json", "--compact"]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    seconds = time.monotonic() - started
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"checkov printed no JSON on {path} (exit {result.returncode}): {result.stderr[-500:]}") from None
    results = (document[0] if isinstance(document, list) else document).get("results") or {}
    verdicts = {}
    for outcome, key in (("PASSED", "passed_checks"), ("FAILED", "failed_checks")):
        for check in results.get(key) or []:
            verdicts[check["check_id"], check["resource"]] = outcome
    return verdicts, seconds


def _ours_cell(finding: Finding, ours: dict) -> tuple[str, bool]:
    status, message = ours.get(finding.control, ("absent", ""))
    finding_text = message.split("; observed: ")[0]  # what was judged is not what was found
    named = status == "failed" and finding.words in finding_text
    cell = f"{finding.control} {'names it' if named else status if status != 'failed' else 'fails, not naming it'}"
    return cell, named == finding.named


def _checkov_cell(finding: Finding, verdicts: dict | None) -> str:
    if verdicts is None:
        return "not run"
    if not finding.check:
        return "no check"
    verdict = verdicts.get((finding.check, finding.resource))
    return f"{finding.check} {verdict.lower() if verdict else 'not evaluated'}"


def table(results: dict, checkov_ran: bool) -> tuple[str, bool]:
    rows = ["| set | finding | should be reported | ours | Checkov |", "|---|---|---|---|---|"]
    all_hold = True
    for finding in FINDINGS:
        ours, verdicts, _, _ = results[finding.set]
        cell, holds = _ours_cell(finding, ours)
        all_hold &= holds
        rows.append(f"| {finding.set} | {finding.what} | {'yes' if finding.named else 'no'} | "
                    f"{cell}{'' if holds else ' ✗'} | {_checkov_cell(finding, verdicts)} |")
    rows += ["", "| set | our failing controls | Checkov's failing checks | our run (s) | Checkov's run (s) |",
             "|---|---|---|---|---|"]
    for name, (ours, verdicts, ours_s, checkov_s) in results.items():
        failing = sum(1 for status, _ in ours.values() if status == "failed")
        checks = len({c for (c, _), v in verdicts.items() if v == "FAILED"}) if verdicts is not None else "—"
        rows.append(f"| {name} | {failing} of {len(ours)} | {checks} | {ours_s:.1f} | "
                    f"{f'{checkov_s:.1f}' if checkov_ran else '—'} |")
    return "\n".join(rows) + "\n", all_hold


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkov", default="checkov", help="Checkov's executable (default: checkov on the PATH)")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    options = parser.parse_args(argv)
    checkov = shutil.which(options.checkov)
    if checkov is None:
        print(f"checkov not found ({options.checkov}): its column says `not run`; see this script's docstring",
              file=sys.stderr)
    results = {}
    for name in dict.fromkeys(f.set for f in FINDINGS):
        path = set_path(name)
        if not path.is_dir():
            print(f"ERROR: manifest set {path} not found", file=sys.stderr)
            return 4
        ours, ours_s = run_ours(path)
        verdicts, checkov_s = run_checkov(checkov, path) if checkov else (None, 0.0)
        results[name] = (ours, verdicts, ours_s, checkov_s)
    text, all_hold = table(results, checkov is not None)
    print(text)
    if options.markdown:
        options.markdown.write_text(text)
    return 0 if all_hold else 1


if __name__ == "__main__":
    sys.exit(main())
