"""The rolling update's rules on data alone: the procedure a service declares, and how many
replicas served through a rollout's record."""

from fixtures.targets.rolling import Rollout, Strategy, strategy_of


def test_the_procedure_is_the_one_the_service_declares():
    assert strategy_of({"deploy": {"replicas": 3}}) is None  # compose's own: every replica at once
    declared = strategy_of({"deploy": {"update_config": {"parallelism": 1, "order": "start-first"}}})
    assert declared == Strategy(1, "start-first") and str(declared) == "1 at a time, start-first"
    # The compose spec's defaults, as Docker Swarm applies them.
    assert strategy_of({"deploy": {"update_config": {}}}) == Strategy(1, "stop-first")
    assert str(strategy_of({"deploy": {"update_config": {"parallelism": 0}}})) == "every replica at once, stop-first"


def test_the_replicas_serving_through_a_rollout():
    one_at_a_time = Rollout("api", "api:2", serving_before=3, started={"n1": 1, "n2": 4},
                            ready={"n1": 2, "n2": 5}, retired={"o1": 3, "o2": 6}).to_dict()
    assert Rollout.serving(one_at_a_time) == [(2, 4), (3, 3), (5, 4), (6, 3)]
    all_at_once = Rollout("api", "api:2", serving_before=2, ready={"n1": 5, "n2": 5},
                          retired={"o1": 1, "o2": 1}).to_dict()
    assert min(n for _, n in Rollout.serving(all_at_once)) == 0
    assert Rollout.serving(Rollout("api", "api:2", serving_before=2).to_dict()) == []


def test_a_rollback_follows_its_own_declaration_when_there_is_one():
    service = {"deploy": {"update_config": {"parallelism": 1, "order": "start-first"},
                          "rollback_config": {"parallelism": 0, "order": "start-first"}}}
    assert strategy_of(service) == Strategy(1, "start-first")
    assert strategy_of(service, rollback=True) == Strategy(0, "start-first")
    assert strategy_of({"deploy": {"update_config": {"parallelism": 2}}}, rollback=True) == Strategy(2, "stop-first")


def test_the_edge_follows_only_when_no_service_has_a_replica_starting():
    import threading
    import time

    from fixtures.targets.rolling import Starting

    reloads = []
    target = type("Target", (), {"edge_follows": lambda self: reloads.append(time.monotonic())})()
    starting = Starting()
    starting.add("api")  # its new replica is not healthy yet
    began = time.monotonic()
    other = threading.Thread(target=starting.edge_follows, args=(target,))
    other.start()
    time.sleep(0.3)
    assert reloads == []  # the AI service's reload waits: the edge would resolve api's new replica
    starting.done("api")
    other.join(5)
    assert len(reloads) == 1 and reloads[0] - began >= 0.3
