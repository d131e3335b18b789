"""Where a run's time goes, measured in one go on this machine (figures, not assertions).

    python benchmarks/run_benchmarks.py            # everything (about 8 minutes)
    python benchmarks/run_benchmarks.py --skip-cold-build

Prints seconds and the ratios the project tracks: suite wall / bare compose up+down,
-n auto / -n 0, cold / warm image build, and the static controls alone. Machines here are
noisy: compare ratios from one run, not seconds across runs.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import docker  # noqa: E402

from fixtures import images, secrets  # noqa: E402
from fixtures.engine.tls import write_edge_certificate  # noqa: E402

# The cold build uses its own repository name so it never removes images a run is using.
BENCH_REPOSITORY = "conformance-benchmark"


def timed(label: str, command: list[str], env: dict | None = None) -> float:
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    seconds = time.monotonic() - started
    status = "ok" if result.returncode == 0 else f"exit {result.returncode}"
    print(f"{label:<42} {seconds:8.1f} s  ({status})", flush=True)
    if result.returncode not in (0, 1):
        print((result.stdout + result.stderr)[-1500:], file=sys.stderr)
    return seconds


def build_seconds() -> tuple[float, float]:
    """Cold (nothing built) and warm (everything built) image builds, in a throwaway repository."""
    env = {"CONFORMANCE_IMAGE_REPOSITORY": BENCH_REPOSITORY}
    command = [sys.executable, "-m", "fixtures.engine.images"]
    try:
        cold = timed("image build, cold (base + 6 services)", command, env)
        warm = timed("image build, warm (nothing to do)", command, env)
    finally:
        client = docker.from_env()
        for image in client.images.list(name=f"{BENCH_REPOSITORY}/*"):
            for tag in image.tags:
                client.images.remove(tag, force=True)
    return cold, warm


def bare_compose_seconds() -> float:
    """`docker compose up --wait` + `down -v` of the reference platform, nothing else."""
    with tempfile.TemporaryDirectory(prefix="conformance-benchmark-") as run_dir:
        env = {**secrets.generate({}), "STACK_IMAGE_TAG": images.stack_tag(), "EDGE_HTTP_PORT": "0",
               "EDGE_HTTPS_PORT": "0", "EDGE_TLS_DIR": str(write_edge_certificate(Path(run_dir) / "tls").parent),
               "COMPOSE_PROJECT_NAME": f"conformance-{os.getpid()}"}
        compose = ["docker", "compose", "-f", "stack/docker-compose.yml"]
        up = timed("bare compose up --wait", [*compose, "up", "--detach", "--wait", "--pull", "never"], env)
        down = timed("bare compose down -v", [*compose, "down", "--volumes", "--timeout", "5"], env)
    return up + down


def suite_seconds(*args: str) -> float:
    with tempfile.TemporaryDirectory(prefix="conformance-benchmark-") as reports:
        return timed(f"pytest suites/ {' '.join(args)}", [sys.executable, "-m", "pytest", "suites/", "-q",
                                                          "--reports-dir", reports, f"--junitxml={reports}/junit.xml",
                                                          *args])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-cold-build", action="store_true", help="skip the cold/warm image build pair")
    options = parser.parse_args()
    images.ensure_stack_images(docker.from_env(), progress=lambda line: None)
    ratios = []
    if not options.skip_cold_build:
        cold, warm = build_seconds()
        ratios.append(("cold / warm image build", cold / warm))
    bare = bare_compose_seconds()
    parallel = suite_seconds("-n", "auto")
    serial = suite_seconds("-n", "0")
    static = suite_seconds("--target", "static")
    ratios += [("suite -n auto / bare up+down", parallel / bare), ("suite -n auto / -n 0", parallel / serial),
               ("static controls / suite -n auto", static / parallel)]
    print()
    for label, ratio in ratios:
        print(f"{label:<42} {ratio:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
