"""docker-bench-security's container-runtime section (CIS Docker 1.6.0 §5) beside our controls, from one run.

    python benchmarks/cis_docker_bench.py --docker-bench DIR [--stack-override FILE ...] [--markdown OUT]

DIR is your own copy of docker-bench-security (https://github.com/docker/docker-bench-security;
`git clone` it, or unpack a release). It is never vendored here and this script fetches
nothing. What the script does, in order:

1. runs our RUNTIME, CONFIG and NET chapters on the reference platform (with any
   --stack-override layered on it) with --keep-stack, so the stack outlives the run;
2. runs `sh docker-bench-security.sh -b -c container_runtime -i PROJECT-` in DIR against that
   stack (docker-bench reads the engine only: `docker inspect`, `docker port`, and
   `docker exec CONTAINER ps` for 5.7; it writes its log under DIR/log);
3. removes the kept stack (`python -m fixtures.engine.cleanup PROJECT`) whatever happened;
4. prints the table of its 32 checks: its verdict, our controls (found by the CIS ids in
   their references) with their statuses, and the category: covered, stricter (we catch
   what it passes), not applicable (why), or missing. Then the counts, and every WARN of
   its that no control of ours reports.

Exit 0 when nothing is missing and every WARN is reported by a control of ours (failed, or
not applicable with the same reason); 1 otherwise; 4 on bad input. docs/cis-docker-bench.md
holds one measured run.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ("suites/test_runtime.py", "suites/test_config.py", "suites/test_network.py")
CHECK_LINE = re.compile(r"^\[(PASS|WARN|INFO|NOTE)\] (5\.\d+) - (.*)$")
DETAIL_LINE = re.compile(r"^\[(?:PASS|WARN|INFO|NOTE)\]\s+\* (.*)$")
CIS_REFERENCE = re.compile(r"CIS Docker 1\.6\.0 ((?:\d+\.\d+(?:,\s*)?)+)")

# Checks no control of ours implements, and why none should.
NOT_APPLICABLE = {
    "5.1": "swarm mode is the engine's, not the platform's: a compose platform runs without it, and a mutant "
           "would have to switch the shared engine into swarm mode",
    "5.19": "CIS asks to override the default ulimits only if needed: the reference overrides none (docker-bench "
            "lists every container without an override, as INFO); processes are bounded by RUNTIME-008",
    "5.23": "docker exec --privileged is an operator's action, not the platform's state: the engine keeps no "
            "record a gate could judge afterwards (docker-bench prints a NOTE only)",
    "5.24": "docker exec --user=root is an operator's action, not the platform's state (docker-bench prints a "
            "NOTE only)",
}
# Where our controls fail what docker-bench-security passes (or only reports as INFO).
STRICTER = {
    "5.3": "it passes any container with any security option (no-new-privileges counts) and so passes every "
           "container on a host without SELinux; we judge the process label, and say not applicable there",
    "5.4": "it passes capabilities added from Docker's default set (NET_RAW, CHOWN ...); we require cap_drop ALL "
           "and nothing added",
    "5.6": "it flags read-write mounts of 8 directories only; we flag read-only ones too, the Docker socket "
           "and /var/lib/docker, and paths below them (/lib/modules) or above the socket (/var/run)",
    "5.7": "it runs `docker exec ps`, which finds nothing in an image without ps; we read `docker top`",
    "5.8": "its `cut -d: -f2` finds no port in an IPv6 binding ([::1]:80); we read the bindings",
    "5.12": "it passes a CPU share (a priority); we require a CPU limit",
    "5.14": "it looks for 0.0.0.0 only, so [::] passes; we require loopback",
    "5.15": "it passes a container with no restart policy at all (zero retries); we require one",
    "5.18": "it reports --device as INFO, and misses device cgroup rules; we fail both, and device requests",
    "5.22": "it looks for seccomp=unconfined only; we also fail an engine with no seccomp and privileged containers",
    "5.26": "it matches the string no-new-privileges, so no-new-privileges:false passes; we require true",
    "5.30": "it reports the default bridge as INFO, found by the name docker0; we fail it, found by the engine's "
            "default-bridge flag",
}
# Manual checks where docker-bench lists everything for a person to review and we judge by a rule.
JUDGED = {
    "5.9": "needed ports are the edge's declared ones (CONFIG-010, NET-005): docker-bench lists every mapped port, "
           "the edge's two included",
}


class BadInput(Exception):
    pass


def run_suite(reports_dir: Path, overrides: list[str]) -> dict:
    args = [arg for override in overrides for arg in ("--stack-override", override)]
    command = [sys.executable, "-m", "pytest", *CHAPTERS, "-n", "2", "-p", "no:cacheprovider", "--keep-stack",
               "--reports-dir", str(reports_dir), f"--junitxml={reports_dir / 'junit.xml'}", *args]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    report = reports_dir / "conformance.json"
    if not report.exists():
        raise BadInput(f"the suite wrote no report: {(result.stdout + result.stderr).strip()[-500:]}")
    return json.loads(report.read_text())


def run_docker_bench(docker_bench: Path, project: str) -> str:
    result = subprocess.run(["sh", "docker-bench-security.sh", "-b", "-c", "container_runtime", "-i", f"{project}-"],
                            cwd=docker_bench, capture_output=True, text=True, timeout=600)
    return result.stdout


def parse_docker_bench(output: str) -> dict[str, dict]:
    """{"5.2": {"verdict": "WARN", "title": ..., "details": [...]}} from its plain (-b) output."""
    checks: dict[str, dict] = {}
    current = None
    for line in output.splitlines():
        if match := CHECK_LINE.match(line.strip()):
            current = checks.setdefault(match.group(2), {"verdict": match.group(1), "title": match.group(3), "details": []})
        elif current is not None and (match := DETAIL_LINE.match(line.strip())):
            current["details"].append(match.group(1))
    return checks


def controls_by_cis_id(report: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for entry in report["controls"]:
        for group in CIS_REFERENCE.findall(entry.get("reference", "")):
            for cis_id in re.split(r",\s*", group.strip().rstrip(",")):
                found.setdefault(cis_id, []).append(entry)
    return found


def side_by_side(checks: dict[str, dict], report: dict) -> tuple[list[dict], list[str]]:
    ours = controls_by_cis_id(report)
    rows, unreported = [], []
    for cis_id in sorted(checks, key=lambda c: int(c.split(".")[1])):
        check, controls = checks[cis_id], ours.get(cis_id, [])
        if cis_id in NOT_APPLICABLE:
            category, why = "not applicable", NOT_APPLICABLE[cis_id]
        elif not controls:
            category, why = "missing", "no control of ours"
        elif cis_id in STRICTER:
            category, why = "stricter", STRICTER[cis_id]
        else:
            category, why = "covered", JUDGED.get(cis_id, "")
        # A control not applicable on this host says why, docker-bench's WARN beside it.
        why = "; ".join([why] * bool(why) + [f"{c['id']}: {c['message']}" for c in controls
                                              if c["status"] == "not_applicable"])
        statuses = {c["status"] for c in controls}
        if check["verdict"] == "WARN" and not statuses & {"failed", "not_applicable"} and cis_id not in JUDGED:
            unreported.append(f"{cis_id} {check['title']}: {'; '.join(check['details'][:3])}")
        rows.append({"cis": cis_id, "title": check["title"], "verdict": check["verdict"], "category": category,
                     "controls": ", ".join(f"{c['id']} {c['status']}" for c in controls) or "none", "why": why})
    return rows, unreported


def markdown(rows: list[dict], unreported: list[str], report: dict) -> str:
    lines = ["| CIS | docker-bench-security | ours (status) | category | why |", "|---|---|---|---|---|"]
    lines += [f"| {r['cis']} {r['title']} | {r['verdict']} | {r['controls']} | {r['category']} | {r['why']} |"
              for r in rows]
    counts = Counter(r["category"] for r in rows)
    lines += ["", f"{len(rows)} checks: " + ", ".join(f"{counts[c]} {c}" for c in
                                                     ("covered", "stricter", "not applicable", "missing")) + "."]
    ours = Counter(c["status"] for c in report["controls"])
    lines.append("Our controls in this run: " + ", ".join(f"{n} {s}" for s, n in sorted(ours.items())) + ".")
    lines.append("docker-bench-security WARNs no control of ours reports: " + ("; ".join(unreported) or "none") + ".")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docker-bench", required=True, type=Path, metavar="DIR",
                        help="your copy of docker-bench-security (the directory holding docker-bench-security.sh)")
    parser.add_argument("--stack-override", action="append", default=[], metavar="FILE",
                        help="an override layered on the reference platform, e.g. a mutant (repeatable)")
    parser.add_argument("--markdown", type=Path, metavar="OUT", help="also write the table to OUT")
    options = parser.parse_args(argv)
    try:
        if not (options.docker_bench / "docker-bench-security.sh").is_file():
            raise BadInput(f"{options.docker_bench}/docker-bench-security.sh not found (--docker-bench): "
                           "get docker-bench-security from https://github.com/docker/docker-bench-security")
        with tempfile.TemporaryDirectory(prefix="cis-docker-bench-") as reports:
            report = run_suite(Path(reports), options.stack_override)
        project = report["stack"]["project"]
        try:
            output = run_docker_bench(options.docker_bench, project)
        finally:
            subprocess.run([sys.executable, "-m", "fixtures.engine.cleanup", project], cwd=ROOT, capture_output=True)
        checks = parse_docker_bench(output)
        if not checks:
            raise BadInput(f"docker-bench-security printed no section 5 check: {output.strip()[-500:]}")
    except BadInput as exc:
        print(f"ERROR: conformance: {exc}", file=sys.stderr)
        return 4
    rows, unreported = side_by_side(checks, report)
    table = markdown(rows, unreported, report)
    print(table)
    if options.markdown:
        options.markdown.write_text(table + "\n")
    missing = any(r["category"] == "missing" for r in rows)
    return 1 if missing or unreported else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
