"""Load generator and replica figures, measured in one run on this machine (figures, not assertions).

    python benchmarks/load_benchmark.py [--seconds 15] [--users 50]

Brings up a reference stack of its own, then prints requests per second for:
  - Locust (FastHttpUser) and wrk against the same endpoint through nginx (GET /orders/{id}),
  - the order_mix scenario (load/, Locust) and the read (wrk) with 1 and with 3 gateway replicas
    (compose --scale, nginx -s reload),
and their ratios. order_mix is paced by its users' think time and Locust's own CPU, so its
1-vs-3 ratio shows the generator's limit as much as the platform's; wrk's shows capacity. Needs `wrk` (`make benchmark-load` installs it). Machines here are noisy:
compare ratios from one run, not figures across runs. Locust's reports go to reports/load/benchmark/.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.clients import Gateway, mint_token  # noqa: E402
from fixtures.errors import HarnessError  # noqa: E402
from fixtures.targets.compose import ComposeTarget  # noqa: E402
from fixtures.labs.load import Load  # noqa: E402
from fixtures.labs.scaling import Scaler  # noqa: E402
from fixtures.stack import Stack  # noqa: E402

REPORTS = ROOT / "reports" / "load" / "benchmark"


def wrk_rps(url: str, token: str, seconds: int, connections: int) -> float:
    result = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s",
                             "-H", f"Authorization: Bearer {token}", url],
                            capture_output=True, text=True, timeout=seconds + 60)
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if not match:
        raise HarnessError(f"wrk printed no Requests/sec: {result.stderr[-300:]}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    if errors:
        print(f"  wrk: {errors.group(1)} non-2xx answers", flush=True)
    return float(match.group(1))


def locust_read_rps(url: str, order_id: str, token: str, seconds: int, users: int) -> float:
    prefix = REPORTS / "single_read"
    command = [sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locust_single_read.py"),
               "--headless", "-H", url, "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
               "--csv", str(prefix), "--only-summary"]
    env = {**os.environ, "ORDER_ID": order_id, "BENCH_TOKEN": token}
    # Run outside the repository root: its [tool.locust] carries load/'s options, which this
    # locustfile does not define.
    result = subprocess.run(command, cwd=REPORTS, env=env, capture_output=True, text=True, timeout=seconds + 60)
    if not Path(f"{prefix}_stats.csv").exists():
        raise HarnessError(f"locust wrote no stats: {result.stderr.strip().splitlines()[-1:]}")
    stats = Path(f"{prefix}_stats.csv").read_text().splitlines()
    header = stats[0].split(",")
    total = next(line.split(",") for line in stats[1:] if ",Aggregated," in line)
    return float(total[header.index("Requests/s")])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15, help="length of each measurement")
    parser.add_argument("--users", type=int, default=50, help="Locust users and wrk connections")
    options = parser.parse_args()
    if not shutil.which("wrk"):
        print("load_benchmark: wrk not found: install it (`make benchmark-load` does, or apt-get install wrk)",
              file=sys.stderr)
        return 2
    REPORTS.mkdir(parents=True, exist_ok=True)
    session = ComposeTarget(SimpleNamespace(project=None, stack_file=None, stack_override=[],
                                           keep_stack=False, up_timeout=240), lambda line: print(line, flush=True))
    try:
        info = session.prepare()
        session.bring_up()
        if not info.stack_running or info.bringup_error:
            raise HarnessError(f"stack did not come up: {info.bringup_error}")
        stack = Stack(info)
        token = mint_token(stack.jwt_secret(), ttl_s=3600)
        gateway = Gateway(info.edge_url, token, info.edge_ca_file)
        order_id = gateway.place_order().json()["order_id"]
        gateway.wait_for_order(order_id)
        url = f"{info.edge_url}/orders/{order_id}"
        seconds, users = options.seconds, options.users

        locust_rps = locust_read_rps(info.edge_url, order_id, token, seconds, users)
        print(f"{'Locust, GET /orders/{id}, 3 replicas':<44} {locust_rps:9.1f} rps", flush=True)
        wrk = wrk_rps(url, token, seconds, users)
        print(f"{'wrk, GET /orders/{id}, 3 replicas':<44} {wrk:9.1f} rps", flush=True)

        scaler, load = Scaler(stack), Load(info.edge_url, stack.jwt_secret(), info.edge_ca_file, REPORTS,
                                           info.secret_values)
        figures, wrk_figures = {}, {}
        for replicas in (1, 3):
            scaler.scale("api-gateway", replicas)
            scaler.reload_edge()
            result = load.run(f"order_mix_{replicas}_replica", users=users, seconds=seconds)
            figures[replicas] = result.rps
            print(f"{f'Locust, order_mix, {replicas} replica(s)':<44} {result.rps:9.1f} rps "
                  f"(p95 {result.p95_ms:.0f} ms, {100 * result.fail_ratio:.2f}% failed)", flush=True)
            wrk_figures[replicas] = wrk_rps(url, token, seconds, users)
            print(f"{f'wrk, GET /orders/{{id}}, {replicas} replica(s)':<44} {wrk_figures[replicas]:9.1f} rps",
                  flush=True)
    except HarnessError as exc:
        print(f"load_benchmark: {exc}", file=sys.stderr)
        return 1
    finally:
        session.tear_down()
    print()
    print(f"{'wrk / Locust (same endpoint)':<44} {wrk / locust_rps:9.2f}")
    print(f"{'3 replicas / 1 replica (Locust, order_mix)':<44} {figures[3] / figures[1]:9.2f}")
    print(f"{'3 replicas / 1 replica (wrk, GET)':<44} {wrk_figures[3] / wrk_figures[1]:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
