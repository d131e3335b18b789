"""What every scenario needs from the platform: options, a client's JWT, TLS to the edge, replica
shares, and a record of every request.

Locust skips this file (its name starts with `_`); scenarios import it. Options come from the
command line, the environment or pyproject's [tool.locust] (locust reads all three):

    --jwt-secret / JWT_SECRET            the gateway's HS256 secret, to mint a client's token
    --edge-ca-file / EDGE_CA_FILE        certificate to verify the edge with (unset: not verified)
    --api-prefix / API_PREFIX            the path the edge serves the gateway's API under (`/api`; default: the root)
    --replica-header / REPLICA_HEADER    the response header naming the replica that answered (default X-Replica)
    --max-fail-ratio / LOAD_MAX_FAIL_RATIO   thresholds the `quitting` listener gates on
    --max-p95-ms / LOAD_MAX_P95_MS
    --min-rps / LOAD_MIN_RPS
"""

import csv
import json
import logging
import ssl
import time
import uuid
from collections import Counter
from pathlib import Path

import gevent.ssl
import jwt
from locust import events, runners
from locust.runners import WorkerRunner

log = logging.getLogger("load")

REPLICA_HEADER = "X-Replica"  # the platform's application contract names it (x-conformance app.replica_header)
REQUEST_ID_HEADER = "X-Request-ID"
NO_REPLICA = "(no answer)"  # a request no replica answered: refused, timed out, or the edge's own error
DEFAULT_PREFIX = "reports/load/order_mix"
TOKEN_TTL_S = 3600

_shares: Counter = Counter()

# Distributed mode: the master calls a worker missing after HEARTBEAT_LIVENESS silent seconds
# (Locust's default: 3) and stops the whole test when the last one goes. A worker on a loaded
# generator machine is starved of its core for longer than that while it spawns its users (TLS
# handshakes, tokens), as measured on 2 cores; ten seconds tolerate it and still notice a dead one.
runners.HEARTBEAT_LIVENESS = 10


class _RequestLog:
    """One row per request, written as each ends (`<prefix>_requests.csv`): the harness cuts the rows
    into its phases' windows by `start` (wall-clock seconds, like its phase marks) and counts a
    phase's evidence while the run goes on, so the master's file is line-buffered. A worker keeps
    its rows until it sends them to the master with its stats."""

    FIELDS = ("start", "response_ms", "name", "status", "failed", "error", "replica", "request_id")

    def __init__(self):
        self.header = REPLICA_HEADER
        self.pending: list[list] = []
        self.file = None
        self.writer = None

    def open(self, path: Path) -> None:
        self.file = open(path, "w", newline="", buffering=1)
        self.writer = csv.writer(self.file, lineterminator="\n")
        self.writer.writerow(self.FIELDS)

    def add(self, rows: list[list]) -> None:
        if self.writer is not None:
            self.writer.writerows(rows)
        else:
            self.pending += rows

    def take(self) -> list[list]:
        rows, self.pending = self.pending, []
        return rows

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = self.writer = None


_requests = _RequestLog()


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--jwt-secret", env_var="JWT_SECRET", default="", is_secret=True,
                       help="the gateway's JWT_SECRET; users present tokens signed with it")
    parser.add_argument("--edge-ca-file", env_var="EDGE_CA_FILE", default="",
                       help="CA/certificate to verify the edge's TLS with; unset: not verified")
    parser.add_argument("--api-prefix", env_var="API_PREFIX", default="",
                       help="path prefix the edge serves the gateway's API under, e.g. /api (default: the root)")
    parser.add_argument("--replica-header", env_var="REPLICA_HEADER", default=REPLICA_HEADER,
                       help="response header naming the replica that answered (default: X-Replica)")
    parser.add_argument("--max-fail-ratio", env_var="LOAD_MAX_FAIL_RATIO", type=float, default=0.01,
                       help="threshold: highest share of failed requests")
    parser.add_argument("--max-p95-ms", env_var="LOAD_MAX_P95_MS", type=float, default=2000,
                       help="threshold: highest 95th percentile response time over all requests, ms")
    parser.add_argument("--min-rps", env_var="LOAD_MIN_RPS", type=float, default=20,
                       help="threshold: lowest mean requests per second over the run")


def mint_token(secret: str, subject: str) -> str:
    """A token as the platform's identity provider would issue it: HS256 with sub, iat, exp and jti."""
    issued = int(time.time())
    claims = {"sub": subject, "iat": issued, "exp": issued + TOKEN_TTL_S, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, secret, algorithm="HS256")


def traced(headers: dict[str, str]) -> dict:
    """A request's headers and context with a fresh X-Request-ID: the id travels to the platform (its
    logs can name it) and, through the request's context, into this request's record."""
    request_id = str(uuid.uuid4())
    return {"headers": {**headers, REQUEST_ID_HEADER: request_id}, "context": {"request_id": request_id}}


def ssl_context_factory(ca_file: str):
    """FastHttpUser's ssl_context_factory: verify the edge with ca_file (hostnames are loopback addresses)."""

    def factory():
        context = gevent.ssl.create_default_context(cafile=ca_file)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    return factory


def output_prefix(environment) -> str:
    options = environment.parsed_options
    return (getattr(options, "csv_prefix", None) if options else None) or DEFAULT_PREFIX


@events.init.add_listener
def _make_report_dirs(environment, **_kwargs):
    options = environment.parsed_options
    if options is None:
        return
    _requests.header = options.replica_header
    for path in (getattr(options, "csv_prefix", None), getattr(options, "html_file", None)):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    if not isinstance(environment.runner, WorkerRunner):
        prefix = Path(output_prefix(environment))
        prefix.parent.mkdir(parents=True, exist_ok=True)
        _requests.open(prefix.parent / f"{prefix.name}_requests.csv")


@events.request.add_listener
def _record_request(response, exception, context=None, start_time=None, response_time=None, name="", **_kwargs):
    headers = getattr(response, "headers", None)
    replica = (headers.get(_requests.header) if headers else None) or ""
    _shares[replica if exception is None and replica else NO_REPLICA] += 1
    error = "" if exception is None else (" ".join(str(exception).split())[:200] or type(exception).__name__)
    _requests.add([[round(start_time or time.time(), 4), round(response_time or 0, 1), name,
               getattr(response, "status_code", 0) or 0, int(exception is not None), error, replica,
               (context or {}).get("request_id", "")]])


@events.report_to_master.add_listener
def _send_shares(client_id, data):
    data["replica_shares"] = dict(_shares)
    _shares.clear()
    data["request_records"] = _requests.take()


@events.worker_report.add_listener
def _receive_shares(client_id, data):
    _shares.update(data.get("replica_shares", {}))
    _requests.add(data.get("request_records", []))


@events.test_start.add_listener
def _reset_shares(environment, **_kwargs):
    if not isinstance(environment.runner, WorkerRunner):
        _shares.clear()


def _percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


@events.quitting.add_listener
def _gate_on_thresholds(environment, **_kwargs):
    """Write the replica shares and the verdict; a missed threshold makes the exit code 1."""
    if isinstance(environment.runner, WorkerRunner):
        return
    options = environment.parsed_options
    total = environment.stats.total
    requests, failures = total.num_requests, total.num_failures
    fail_ratio = failures / requests if requests else 1.0
    p95 = total.get_response_time_percentile(0.95) or 0
    rps = total.total_rps
    prefix = Path(output_prefix(environment))
    prefix.parent.mkdir(parents=True, exist_ok=True)
    shares = dict(sorted(_shares.items()))
    (prefix.parent / f"{prefix.name}_replica_shares.json").write_text(json.dumps(shares, indent=2) + "\n")
    answered = sum(n for replica, n in shares.items() if replica != NO_REPLICA)
    for replica, count in shares.items():
        log.info("replica %s served %d request(s), %s", replica, count, _percent(count, answered))
    missed = []
    if not requests:
        missed.append("no request was made")
    exceptions = list((environment.runner.exceptions if environment.runner else {}).values())
    if exceptions:
        missed.append(f"{sum(e['count'] for e in exceptions)} exception(s) in the scenario, e.g. {exceptions[0]['msg']}")
    if fail_ratio > options.max_fail_ratio:
        missed.append(f"fail ratio {fail_ratio:.4f} > {options.max_fail_ratio}")
    if p95 > options.max_p95_ms:
        missed.append(f"p95 {p95:.0f} ms > {options.max_p95_ms:.0f} ms")
    if rps < options.min_rps:
        missed.append(f"{rps:.1f} rps < {options.min_rps:.1f} rps")
    verdict = {"requests": requests, "failures": failures, "fail_ratio": round(fail_ratio, 5), "p95_ms": p95,
               "rps": round(rps, 2), "replica_shares": shares,
               "exceptions": [{"count": e["count"], "msg": e["msg"]} for e in exceptions],
               "thresholds": {"max_fail_ratio": options.max_fail_ratio, "max_p95_ms": options.max_p95_ms,
                              "min_rps": options.min_rps},
               "passed": not missed, "missed": missed}
    (prefix.parent / f"{prefix.name}_verdict.json").write_text(json.dumps(verdict, indent=2) + "\n")
    _requests.close()
    if missed:
        log.error("thresholds missed: %s", "; ".join(missed))
        environment.process_exit_code = 1
    else:
        log.info("thresholds met: fail ratio %.4f, p95 %.0f ms, %.1f rps", fail_ratio, p95, rps)
        # Locust exits 1 on any failed request; the fail-ratio threshold is what gates here.
        environment.process_exit_code = 0
