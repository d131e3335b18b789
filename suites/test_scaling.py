"""Scaling: the edge spreads load over the gateway replicas, workers compete for commands, and
the platform scales out, scales in and loses a replica under load without failing clients.

Load comes from the session's one load timeline (`load_timeline`, fixtures/labs/timeline.py): a
Locust child process through the edge, in phases (steady, scale out, scale in, replica lost),
each control judging its own phase's window (`load_window`, chosen by its `load_phase` mark);
its files are under reports/load/ (`timeline*`). The timeline holds the stack alone while it
runs, and puts the gateway back to its declared shape afterwards; its controls stay
`disruptive`, so a selection that leaves disruption out leaves them out.
"""

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from fixtures import clients
from fixtures.applicability import not_applicable
from fixtures.controls import control
from fixtures.clients import mint_token

SHARE_TOLERANCE = 0.10  # a replica's share may stray this far (absolute) from an even split
ORDER_COUNT = 120


def _uneven(window, replicas: list[str]) -> dict[str, str]:
    even = 1 / len(replicas)
    return {r: f"{100 * window.share(r):.1f}%" for r in replicas if abs(window.share(r) - even) > SHARE_TOLERANCE}


def _shares(window, replicas: list[str]) -> str:
    return ", ".join(f"{r} {100 * window.share(r):.1f}%" for r in replicas)


def _judged(phase) -> None:
    """A phase whose own action failed fails its control: the platform did not take the step."""
    assert not phase.error, f"the {phase.name} phase's action failed: {phase.error}"
    assert phase.window.requests > 0, f"no request in the {phase.name} phase's window ({phase.window.summary()})"


@pytest.mark.disruptive
@pytest.mark.load_phase("steady")
@control("SCALE-001", severity="high", reference="seed 001 §Load Balancing; seed 002 §Scaling Strategy",
         needs=("edge", "gateway", "app:orders"))
def test_gateway_replicas_share_the_load_evenly(load_window, observed):
    """Under steady load through the edge, each gateway replica serves within ±10 points of an even share.

    Rationale: replicas behind a load balancer only add capacity if each one gets its part;
    an upstream pinned to one replica, or a replica that accepts connections and never
    answers, leaves the platform with less capacity than it declares. Shares are of every
    request sent, so requests no replica answered count against the even split.
    """
    phase, window = load_window, load_window.window
    replicas = phase.replicas_before
    observed(f"{len(replicas)} replicas: {_shares(window, replicas)}; {window.summary()}")
    _judged(phase)
    assert replicas, "no gateway replica was running when the steady phase began"
    uneven = _uneven(window, replicas)
    assert not uneven, (f"replicas outside {100 / len(replicas):.1f}% ± {100 * SHARE_TOLERANCE:.0f} points: {uneven} "
                        f"({window.summary()})")


@control("SCALE-002", severity="critical", reference="seed 000 §Horizontal Scaling; seed 001 §Message Bus Considerations",
         needs=("edge", "gateway", "worker", "broker", "event_store:postgres", "app:orders"))
def test_order_commands_are_processed_once_by_competing_consumers(stack, gateway_as, pg, platform, observed):
    """N order commands are each processed exactly once, and every worker replica takes part.

    Rationale: order-service replicas are competing consumers of one queue (seed 000: "each
    instance consumes from same queue"); a command processed twice double-books an order, one
    never processed loses it, and a replica that takes no part is capacity that is not there.
    """
    replicas = sorted(c.id[:12] for c in stack.containers(platform.service("worker"), include_stopped=False))
    token = mint_token(stack.jwt_secret())

    def place(index: int) -> str | None:
        response = gateway_as(token).place_order(customer_id=f"scale-002-{index}")
        return response.json()["order_id"] if response.status_code == 202 else None

    with ThreadPoolExecutor(max_workers=8) as pool:
        placed = list(pool.map(place, range(ORDER_COUNT)))
    accepted = [order_id for order_id in placed if order_id]
    assert len(accepted) == ORDER_COUNT, f"only {len(accepted)} of {ORDER_COUNT} orders were accepted (202)"
    deadline = time.monotonic() + 60
    with pg() as connection:
        while True:
            rows = connection.execute(
                "SELECT e.order_id::text, count(*), min(e.processed_by), count(o.order_id) "
                "FROM events e LEFT JOIN orders o USING (order_id) WHERE e.order_id = ANY(%s::uuid[]) "
                "GROUP BY e.order_id", (accepted,)).fetchall()
            if len(rows) == ORDER_COUNT or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    per_replica: dict[str, int] = {}
    for _, _, processed_by, _ in rows:
        per_replica[processed_by] = per_replica.get(processed_by, 0) + 1
    observed(f"{len(rows)} of {ORDER_COUNT} orders processed; per worker replica: {per_replica}")
    assert len(rows) == ORDER_COUNT, f"{ORDER_COUNT - len(rows)} of {ORDER_COUNT} accepted orders never processed in 60 s"
    twice = [order_id for order_id, events, _, projected in rows if events != 1 or projected != 1]
    assert not twice, f"orders not recorded exactly once (events, projection rows): {twice[:5]}"
    assert len(replicas) >= 2, (f"{len(replicas)} worker replica(s) running: competing consumers need "
                                f"at least 2")
    idle = [r for r in replicas if r not in per_replica]
    assert not idle, f"worker replicas that processed none of {ORDER_COUNT} orders: {idle} ({per_replica})"


@pytest.mark.disruptive
@pytest.mark.load_phase("scale-out")
@control("SCALE-003", severity="high", reference="seed 001 §Horizontal Scaling; seed 001 §Load Balancing",
         needs=("edge", "gateway", "app:orders", "target:can_scale"))
def test_scaling_the_gateway_out_under_load_fails_no_request(load_window, observed):
    """Scaling the gateway 3→5 under load (then the edge reloads) fails no request and puts the new replicas in rotation.

    Rationale: scaling out is what an operator does when load rises (`docker compose up -d
    --scale api-gateway=N`, seed 001); it must not fail the clients already there, and the
    new replicas must take traffic once the edge reloads, or the scale-out bought nothing.
    """
    phase, during, after = load_window, load_window.window, load_window.after_action
    before, replicas = phase.replicas_before, phase.replicas_after
    new = [r for r in replicas if r not in before]
    observed(f"{len(before)}→{len(replicas)} replicas, scaled and reloaded in {phase.action_s:.0f}s; during: "
             f"{during.summary()}; after the reload: {_shares(after, replicas)}")
    _judged(phase)
    assert during.failures == 0, f"{during.failures} request(s) failed while scaling out ({during.summary()})"
    assert len(new) == 2, f"expected 2 new replicas, found {new} (before {before}, after {replicas})"
    idle = {r: f"{100 * after.share(r):.1f}%" for r in new if after.share(r) < 0.5 / len(replicas)}
    assert not idle, (f"new replicas not in rotation after the reload (share below half of even): {idle} "
                      f"({after.summary()})")


@pytest.mark.disruptive
@pytest.mark.load_phase("scale-in")
@control("SCALE-004", severity="high", reference="seed 001 §Horizontal Scaling; seed 001 §Load Balancing",
         needs=("edge", "gateway", "app:orders", "target:can_scale"))
def test_scaling_the_gateway_in_under_load_fails_at_most_one_percent(load_window, observed):
    """Scaling the gateway 5→3 under load (then the edge reloads) fails at most 1% of requests.

    Rationale: scaling in after a peak removes replicas that hold connections; the edge must
    move their traffic to the others instead of handing clients errors.
    """
    phase, during = load_window, load_window.window
    observed(f"{len(phase.replicas_before)}→{len(phase.replicas_after)} replicas under load "
             f"({phase.did}, {phase.action_s:.0f}s): {during.summary()}")
    _judged(phase)
    assert during.fail_ratio <= 0.01, f"{100 * during.fail_ratio:.2f}% of requests failed while scaling in ({during.summary()})"


@pytest.mark.disruptive
@pytest.mark.load_phase("replica-lost")
@control("SCALE-005", severity="critical", reference="seed 001 §Load Balancing; seed 001 §Health Checks",
         needs=("edge", "gateway", "app:orders", "target:can_stop_replica", "target:can_scale"))
def test_losing_a_gateway_replica_under_load_fails_at_most_one_percent(load_window, observed):
    """Killing one gateway replica under load fails at most 1% of requests, and the survivors take its share.

    Rationale: a replica crashes without warning (SIGKILL, OOM); the edge must fail over to
    the survivors, which then carry the load between them evenly. Failed means any answer
    but 2xx, other than a 404 for an order not yet processed.
    """
    phase, during, after = load_window, load_window.window, load_window.after_action
    survivors = phase.replicas_after
    observed(f"{phase.did}; during: {during.summary()}; after, survivors: {_shares(after, survivors)}")
    _judged(phase)
    assert during.fail_ratio <= 0.01, (f"{100 * during.fail_ratio:.2f}% of requests failed after {phase.did} "
                                       f"({during.summary()})")
    assert survivors, f"no gateway replica survived: {phase.did}"
    uneven = _uneven(after, survivors)
    assert not uneven, (f"survivors outside {100 / len(survivors):.1f}% ± {100 * SHARE_TOLERANCE:.0f} points after "
                        f"{phase.did}: {uneven} ({after.summary()})")


SPREAD_REQUESTS_PER_REPLICA = 10


@control("SCALE-006", severity="high", reference="seed 002 §Load Balancing; seed 001 §Load Balancing",
         needs=("edge", "gateway", "app"))
def test_the_edge_spreads_every_gateway_service_over_all_its_replicas(stack, platform, observed):
    """For every replicated gateway service, requests through its route at the edge reach every replica.

    Rationale: an edge whose upstream for one service names a single replica (or a route that
    bypasses the upstream) leaves that service's other replicas idle, whatever the compose file
    scales; each service behind the edge (seed 002: `/api/` and `/ai/`) is asked on its own
    route, and every replica must serve at least a quarter of an even share.
    """
    header = platform.app.get("replica_header", "X-Replica")
    client = clients.Gateway(stack.edge_url, None, stack.info.edge_ca_file)
    replicated = [s for s in platform.services_of("gateway") if stack.model.replicas(s) > 1]
    if not replicated:
        not_applicable("no gateway service declares more than one replica")
    problems, seen = [], []
    for service in replicated:
        replicas = sorted(c.id[:12] for c in stack.containers(service, include_stopped=False))
        path = platform.route(service) + platform.app.get("health_path", "/health")
        served = Counter()
        for _ in range(SPREAD_REQUESTS_PER_REPLICA * len(replicas)):
            try:
                served[client.get(path, timeout=5).headers.get(header, "(none)")] += 1
            except requests.RequestException as exc:
                served[f"({exc.__class__.__name__})"] += 1
        seen.append(f"{service} via {path}: " + ", ".join(f"{r}={served[r]}" for r in replicas))
        floor = SPREAD_REQUESTS_PER_REPLICA / 4
        idle = [r for r in replicas if served[r] < floor]
        if idle:
            problems.append(f"{service} replicas {', '.join(idle)} served fewer than {floor:.1f} of "
                            f"{sum(served.values())} requests via {path} ({dict(served)})")
    observed("; ".join(seen))
    assert not problems, "; ".join(problems)
