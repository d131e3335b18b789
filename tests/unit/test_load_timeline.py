"""The load timeline's rules, on records and marks alone: which phases run, when a window holds
enough evidence, what a window counts, and what a control is told when its phase did not run."""

import threading

import pytest

from fixtures.labs import timeline
from fixtures.labs.load import NO_REPLICA
from fixtures.labs.timeline import (
    Phase,
    PhaseResult,
    Record,
    RequestLog,
    TimelineResult,
    Window,
)


def _names(phases) -> list[str]:
    return [p.name for p in phases]


def test_the_evidence_a_budget_needs_follows_the_rule_of_three():
    assert Phase("p", budget=0.01).needed == 300
    assert Phase("p", budget=0.05).needed == 60
    assert Phase("p", budget=0.001).needed == 3000
    assert Phase("p", budget=0).needed == 0


def test_only_the_phases_the_selection_judges_run_and_the_actions_before_them():
    phases = timeline.phases(max_s=60)
    assert _names(phases) == ["steady", "scale-out", "scale-in", "replica-lost", "broken-release", "rolling-update",
                              "rollback", "shutdown"]
    assert _names(timeline.planned(phases, {"steady"})) == ["steady"]
    # scale-in starts from the shape scale-out leaves; the action-less steady phase is not needed.
    assert _names(timeline.planned(phases, {"scale-in"})) == ["scale-out", "scale-in"]
    assert _names(timeline.planned(phases, {"steady", "replica-lost"})) == _names(phases)[:4]
    # The release phases put the declared shape back themselves: nothing unjudged before them runs,
    # but the rollback runs after the update it undoes.
    assert _names(timeline.planned(phases, {"rolling-update"})) == ["rolling-update"]
    assert _names(timeline.planned(phases, {"shutdown"})) == ["shutdown"]
    assert _names(timeline.planned(phases, {"broken-release", "shutdown"})) == ["broken-release", "shutdown"]
    assert _names(timeline.planned(phases, {"broken-release", "rolling-update", "shutdown"})) == [
        "broken-release", "rolling-update", "rollback", "shutdown"]
    assert _names(timeline.planned(phases, {"steady", "shutdown"})) == ["steady", "shutdown"]
    assert timeline.planned(phases, set()) == []
    with pytest.raises(ValueError, match="no load phase named rollout"):
        timeline.planned(phases, {"rollout"})


def test_the_maximum_option_bounds_every_phase():
    assert {p.max_s for p in timeline.phases(max_s=12.5)} == {12.5}


def _record(start: float, ms: float = 10, failed: bool = False, replica: str = "a", error: str = "") -> Record:
    return Record(start, ms, failed, error or ("boom" if failed else ""), replica, f"id-{start}")


def test_a_window_counts_the_requests_that_started_inside_it():
    records = [_record(9.9), *[_record(10 + i / 10, ms=i) for i in range(20)], _record(12.0, replica="b"),
               _record(11.5, failed=True, replica="b", error="GET answered 502")]
    window = Window.of(records, 10.0, 12.0)
    assert (window.requests, window.failures) == (21, 1)
    assert window.seconds == 2.0 and window.rps == 10.5
    # A failed request counts against every replica, whoever sent the error page.
    assert window.shares == {NO_REPLICA: 1, "a": 20}
    assert window.share("a") == pytest.approx(20 / 21)
    assert window.p95_ms == 18  # the 20th of 21 response times, sorted
    assert window.errors == {"GET answered 502": 1}


def test_an_empty_window_fails_every_ratio():
    window = Window.of([], 0, 5)
    assert window.requests == 0 and window.fail_ratio == 1.0 and window.share("a") == 0.0
    assert window.missed({"max_fail_ratio": 0.01, "max_p95_ms": 2000, "min_rps": 20}) == [
        "fail ratio 1.0000 > 0.01", "0.0 rps < 20.0 rps"]


def test_the_request_log_reads_what_locust_has_finished_writing(tmp_path):
    path = tmp_path / "timeline_requests.csv"
    path.write_text("start,response_ms,name,status,failed,error,replica,request_id\n"
                    "10.5,12.0,GET /orders/{id},404,0,,a,u-1\n"
                    "11.0,3.0,POST /orders,0,1,\"no answer, reset\",,u-2\n11.2,4.")
    log = RequestLog(path)
    assert [(r.start, r.failed, r.error, r.replica) for r in log.read()] == [
        (10.5, False, "", "a"), (11.0, True, "no answer, reset", "")]
    with open(path, "a") as handle:
        handle.write("0,GET /orders/{id},200,0,,b,u-3\n")
    assert log.count_since(11.0) == 2 and log.records[-1].request_id == "u-3"


def _result(**phases: PhaseResult) -> TimelineResult:
    return TimelineResult(phases=list(phases.values()))


def _node(phase: str):
    class Node:
        def get_closest_marker(self, name):
            assert name == "load_phase"
            return pytest.mark.load_phase(phase).mark

    return Node()


def test_a_control_whose_phase_did_not_run_is_told_which_phase_broke_the_stack():
    broken = 'the "scale-out" phase left the stack broken: docker compose up failed: replica unhealthy'
    result = _result(steady=PhaseResult("steady", window=Window.of([], 0, 1)),
                     out=PhaseResult("scale-out", error="docker compose up failed: replica unhealthy"),
                     inn=PhaseResult("scale-in", not_run=broken))
    assert timeline.window_of(_node("steady"), result).name == "steady"
    assert timeline.window_of(_node("scale-out"), result).error  # its own action: its control fails
    with pytest.raises(timeline.NotJudged, match='did not run: the "scale-out" phase left the stack broken'):
        timeline.window_of(_node("scale-in"), result)
    with pytest.raises(timeline.NotJudged, match="had no 'replica-lost' phase"):
        timeline.window_of(_node("replica-lost"), result)
    with pytest.raises(timeline.NotJudged, match="did not run: Locust could not start"):
        timeline.window_of(_node("steady"), TimelineResult(error="Locust could not start"))


def test_a_result_survives_the_file_other_workers_read():
    window = Window.of([_record(1.0), _record(1.5, failed=True)], 1.0, 2.0, users=30)
    result = TimelineResult(phases=[PhaseResult("steady", needed=300, start=1.0, end=2.0, replicas_before=["a"],
                                                window=window, after_action=window),
                                    PhaseResult("scale-out", not_run="the load run ended early")],
                            thresholds={"max_fail_ratio": 0.01, "max_p95_ms": 2000.0, "min_rps": 20.0})
    again = TimelineResult.from_json(result.to_json())
    assert again == result
    assert again.phase("steady").window.summary() == window.summary()


def test_the_first_to_ask_runs_the_timeline_and_the_others_read_it(tmp_path):
    runs = []

    def run():
        runs.append(threading.get_ident())
        return _result(steady=PhaseResult("steady", window=Window.of([_record(1.0)], 0, 2)))

    threads = [threading.Thread(target=timeline.run_once, args=(tmp_path, run)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runs) == 1
    assert timeline.run_once(tmp_path, run).phase("steady").window.requests == 1


def test_a_timeline_that_could_not_run_is_recorded_once(tmp_path):
    def run():
        raise RuntimeError("locust: no such module")

    assert timeline.run_once(tmp_path, run).error == "locust: no such module"
    assert timeline.run_once(tmp_path, lambda: pytest.fail("ran twice")).error == "locust: no such module"
