"""The load timeline end to end over a real Locust run (load/order_mix.py) against a small HTTP
edge of ours: phases marked and ended by evidence or their maximum, a broken phase's successors
not run, every request recorded under the X-Request-ID the edge received, the stack restored."""

import json
import time
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import pytest

from fixtures.labs import load, timeline
from fixtures.labs.timeline import Phase
from tests.local_http import serving


class _Edge(BaseHTTPRequestHandler):
    """Just enough of the order API; answers as the replica the scaler stand-in says is next."""

    seen: ClassVar[list[str]] = []
    replicas: ClassVar[list[str]] = ["r1", "r2"]

    def _answer(self, code: int, body: dict) -> None:
        self.seen.append(self.headers.get("X-Request-ID", ""))
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Served-By", self.replicas[len(self.seen) % len(self.replicas)])
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer(202, {"order_id": str(uuid.uuid4())})

    def do_GET(self):
        self._answer(404, {"error": "not projected yet"})

    def log_message(self, *args):
        pass


class _Scaler:
    """The scaler's verbs the timeline uses, over the edge above instead of a compose project."""

    gateway = "api"

    def __init__(self):
        self.restored = False

    def replicas(self) -> list[str]:
        return list(_Edge.replicas)

    @contextmanager
    def restoring(self):
        try:
            yield self
        finally:
            _Edge.replicas[:] = ["r1", "r2"]
            self.restored = True


@pytest.fixture
def edge():
    _Edge.seen = []
    with serving(_Edge) as url:
        yield url


def _add_replica(scaler) -> str:
    _Edge.replicas.append("r3")
    return "r3 added"


def _fail(scaler) -> str:
    raise RuntimeError("docker compose up failed: r4 unhealthy")


def test_phases_end_on_evidence_or_their_maximum_and_a_broken_one_stops_the_rest(edge, tmp_path):
    scaler = _Scaler()
    phases = [
        Phase("steady", None, min_s=1, max_s=20, budget=0.05),  # 60 requests: a few seconds
        Phase("grown", _add_replica, min_s=1, max_s=3, budget=0.0001),  # 30000: never, so its maximum
        Phase("unjudged", None, min_s=30, max_s=30),  # no control asks: left out
        Phase("broken", _fail, min_s=1, max_s=5),
        Phase("after", None, min_s=1, max_s=5),
    ]
    runner = timeline.Timeline(load.Load(edge, "x" * 32, "", tmp_path, [], replica_header="X-Served-By"), scaler)
    started = time.monotonic()
    result = runner.run(phases, judged={"steady", "grown", "broken", "after"})
    took = time.monotonic() - started

    assert result.error == "" and result.restore_error == "", result
    assert [p.name for p in result.phases] == ["steady", "grown", "broken", "after"]
    steady, grown, broken, after = result.phases
    assert steady.window.requests >= 60 and steady.end_monotonic - steady.start_monotonic < 20, steady
    # By when it started: a request of the steady phase may be answered once r3 is there.
    assert steady.window.failures == 0 and {"r1", "r2"} <= set(steady.window.shares)
    assert grown.did == "r3 added" and grown.replicas_before == ["r1", "r2"] and grown.replicas_after == ["r1", "r2", "r3"]
    assert 3 <= grown.end_monotonic - grown.start_monotonic < 6, grown
    assert "r3" in grown.after_action.shares
    assert broken.error == "docker compose up failed: r4 unhealthy" and broken.window is not None
    assert after.not_run == 'the "broken" phase left the stack broken: docker compose up failed: r4 unhealthy'
    assert after.window is None
    with pytest.raises(timeline.NotJudged, match='"broken" phase left the stack broken'):
        timeline.window_of(type("Node", (), {"get_closest_marker": lambda self, name: pytest.mark.load_phase("after").mark})(),
                           result)
    assert scaler.restored and took < 60
    assert result.thresholds == {"max_fail_ratio": 0.01, "max_p95_ms": 2000.0, "min_rps": 20.0}

    # Every request is recorded once, under the uuid the edge received in its X-Request-ID.
    records = timeline.RequestLog(tmp_path / "timeline_requests.csv").read()
    ids = [r.request_id for r in records]
    assert len(ids) == len(set(ids)) > 60 and all(uuid.UUID(i) for i in ids)
    assert set(ids) <= set(_Edge.seen)
    # The phase file holds the marks (wall clock and monotonic) and the figures benchmarks/ read.
    marks = json.loads((tmp_path / timeline.PHASE_FILE).read_text())
    assert [p["name"] for p in marks["phases"]] == ["steady", "grown", "broken", "after"]
    assert marks["phases"][0]["requests"] == steady.window.requests
    assert marks["phases"][0]["start"] < marks["phases"][0]["end"] <= marks["phases"][1]["start"]
