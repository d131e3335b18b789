"""Which known-bad stack proves which control: every control appears here at least once.

A bring-up groups mutants whose breakages touch different services, so each control
it names still fails for its own mutant's reason alone; that keeps bring-ups few.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class MutantRun:
    name: str
    overrides: tuple[str, ...]  # files under tests/mutants/
    must_fail: tuple[str, ...]  # control ids that must report "failed"
    live: bool = True  # False: proven on the compose model alone (--target static)


MUTANT_RUNS = [
    MutantRun("healthcheck-disabled", ("health/rabbitmq-healthcheck-disabled.yml",), ("HEALTH-001",), live=False),
    MutantRun(
        "dependency-faults",
        (
            "health/postgres-rejects-network-logins.yml",
            "health/redis-listens-on-loopback-only.yml",
            "health/rabbitmq-disk-alarm.yml",
            "health/nginx-answers-503.yml",
        ),
        ("HEALTH-003", "HEALTH-004", "HEALTH-005", "HEALTH-006"),
    ),
    MutantRun(
        "unhealthy-edge-and-lost-orders",
        ("health/nginx-healthcheck-wrong-port.yml", "health/order-service-consumes-wrong-queue.yml"),
        ("HEALTH-002", "HEALTH-009"),
    ),
    MutantRun("gateway-wrong-redis-password", ("health/gateway-wrong-redis-password.yml",), ("HEALTH-007",)),
    MutantRun("gateway-stale-health-cache", ("health/gateway-stale-health-cache.yml",), ("HEALTH-008",)),
]
