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
    live: bool = True  # False: proven on the compose model alone (--target static), and it
    # must then be the only control failing: a static mutant breaks exactly one thing.
    stack_file: str = ""  # the platform the overrides break, relative to the repo (default: the reference)
    target: str = ""  # the --target it runs on (default: compose)
    # (control id, LSM) for controls that judge a confinement only some hosts run (CIS 5.2,
    # 5.3): "failed" where the engine's host runs that LSM, "not_applicable" (never "passed")
    # where it does not.
    host_confined: tuple[tuple[str, str], ...] = ()

    @property
    def proves(self) -> tuple[str, ...]:
        return self.must_fail + tuple(control_id for control_id, _ in self.host_confined)
    # (control id, words its message must carry): when one bring-up holds several mutants of
    # one control, each must be named in its failure, not just one of them.
    must_say: tuple[tuple[str, str], ...] = ()
    args: tuple[str, ...] = ()  # more options of the suite run (`--orchestrator swarm`)


def _static(control_id: str, override: str) -> MutantRun:
    return MutantRun(override.split("/")[-1].removesuffix(".yml"), (override,), (control_id,), live=False)


def _swarm(control_id: str, override: str, *said: str) -> MutantRun:
    """A SWARM mutant: the reference judged as a Swarm stack from the file alone, failing its one
    control with a message that names the fault."""
    return MutantRun(override.removesuffix(".yml"), (f"swarm/{override}",), (control_id,), live=False,
                     must_say=tuple((control_id, words) for words in said), args=("--orchestrator", "swarm"))


MUTANT_RUNS = [
    MutantRun(
        # One bring-up on Docker Swarm (a single-node swarm on loopback, made and left by the run):
        # four breakages of the gateway's Swarm deployment, each failing its own live control.
        "swarm-gateway-faults",
        ("swarm/gateway-secret-in-environment.yml", "swarm/gateway-never-restarts-on-swarm.yml",
         "swarm/gateway-update-pauses.yml", "swarm/gateway-updates-all-at-once.yml"),
        ("SWARM-101", "SWARM-102", "SWARM-103", "SWARM-104"),
        target="swarm",
        must_say=(("SWARM-101", "LEGACY_JWT_SECRET"),),
    ),
    _static("HEALTH-001", "health/rabbitmq-healthcheck-disabled.yml"),
    _static("CONFIG-001", "config/redis-without-limits.yml"),
    _static("CONFIG-002", "config/order-service-never-restarts.yml"),
    _static("CONFIG-002", "config/order-service-restart-policy-none.yml"),
    # Swarm ignores `restart:`: the worker that compose would never restart is restarted forever
    # there (Swarm's default `any`), so CONFIG-002 passes and only the missing bound fails.
    MutantRun("order-service-never-restarts-on-swarm", ("config/order-service-never-restarts.yml",), ("SWARM-005",),
              live=False, must_say=(("SWARM-005", "order-service: no deploy.restart_policy"),),
              args=("--orchestrator", "swarm")),
    # The restart_policy both compose and Swarm run says `none`, whatever `restart:` says.
    MutantRun("order-service-restart-policy-none-on-swarm", ("config/order-service-restart-policy-none.yml",),
              ("CONFIG-002", "SWARM-005"), live=False,
              must_say=(("CONFIG-002", "order-service (deploy.restart_policy condition none)"),),
              args=("--orchestrator", "swarm")),
    _static("CONFIG-003", "config/nginx-image-latest.yml"),
    _static("CONFIG-003", "config/redis-image-major-only.yml"),
    _static("CONFIG-004", "config/gateway-dev-jwt-secret.yml"),
    _static("CONFIG-004", "config/gateway-secret-key-base.yml"),
    _static("CONFIG-004", "config/order-service-secret-in-env-file.yml"),
    _static("CONFIG-005", "config/postgres-data-on-tmpfs.yml"),
    _static("CONFIG-006", "config/order-service-privileged.yml"),
    _static("CONFIG-007", "config/gateway-host-pid.yml"),
    _static("CONFIG-008", "config/gateway-docker-socket.yml"),
    _static("CONFIG-008", "config/gateway-var-run-mounted.yml"),
    _static("CONFIG-009", "config/edge-on-all-interfaces.yml"),
    _static("CONFIG-009", "config/edge-on-ipv6-any.yml"),
    _static("CONFIG-009", "config/edge-on-unbound-port.yml"),
    _static("CONFIG-010", "config/rabbitmq-management-published.yml"),
    _static("CONFIG-011", "config/postgres-root-filesystem-writable.yml"),
    _static("CONFIG-012", "config/rabbitmq-host-fuse-device.yml"),
    _static("CONFIG-013", "config/gateway-seccomp-unconfined.yml"),
    _static("CONFIG-013", "config/redis-apparmor-unconfined.yml"),
    _static("CONFIG-013", "config/postgres-selinux-labels-disabled.yml"),
    _static("CONFIG-014", "config/gateway-cgroup-parent.yml"),
    _static("CONFIG-015", "config/nginx-on-default-bridge.yml"),
    _static("CONFIG-016", "config/nginx-shared-mount-propagation.yml"),
    _static("CONFIG-017", "config/nginx-privileged-host-port.yml"),
    _static("CONFIG-017", "config/nginx-privileged-host-port-ipv6.yml"),
    _static("CONFIG-018", "config/gateway-adds-sys-module.yml"),
    _static("CONFIG-019", "config/order-service-user-root.yml"),
    _static("CRED-020", "cred/postgres-trusts-host-connections.yml"),
    _static("CRED-020", "cred/redis-without-password.yml"),
    _static("OBS-003", "obs/order-service-logs-without-max-size.yml"),
    _swarm("CONFIG-001", "redis-limits-compose-only.yml", "redis: memory (its mem_limit does not count on Swarm)"),
    _swarm("SWARM-001", "gateway-update-pauses-on-failure.yml", "api-gateway: failure_action pause, not rollback"),
    _swarm("SWARM-001", "gateway-updates-every-replica-at-once.yml", "api-gateway: parallelism 3 of 3 replicas"),
    _swarm("SWARM-002", "gateway-monitor-shorter-than-healthcheck.yml",
           "api-gateway: monitor 10s is shorter than its healthcheck window"),
    _swarm("SWARM-003", "order-service-without-rollback-config.yml", "no deploy.rollback_config: order-service"),
    _swarm("SWARM-004", "postgres-two-replicas-unpinned.yml", "postgres: 2 replicas, not 1",
           "postgres: keeps postgres-data but has no placement constraint"),
    _swarm("SWARM-005", "redis-restarts-without-bound.yml", "redis: no max_attempts"),
    _swarm("SWARM-006", "database-network-not-internal.yml", "database (postgres) is not internal"),
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
        # The gateway still serves reads from Postgres without its cache, so HEALTH-009
        # fails for the lost orders alone.
        "unhealthy-edge-lost-orders-stale-redis-password",
        (
            "health/nginx-healthcheck-wrong-port.yml",
            "health/order-service-consumes-wrong-queue.yml",
            "health/gateway-wrong-redis-password.yml",
        ),
        ("HEALTH-002", "HEALTH-007", "HEALTH-009"),
    ),
    MutantRun(
        "runtime-hardening-broken",
        (
            "config/order-service-privileged.yml",
            "config/gateway-host-pid.yml",
            "config/edge-on-ipv6-any.yml",
            "runtime/redis-adds-sys-admin.yml",
            "runtime/rabbitmq-new-privileges-allowed.yml",
            "config/redis-without-limits.yml",
            "runtime/order-service-unlimited-pids.yml",
            "config/gateway-docker-socket.yml",
            "config/order-service-never-restarts.yml",
            "runtime/nginx-without-healthcheck.yml",
            "runtime/order-service-runs-as-root.yml",
            # CIS 5 beyond RUNTIME-012: nginx, the last to start and a dependency of none,
            # carries the three that keep it from starting here (judged as created).
            "config/postgres-root-filesystem-writable.yml",
            "runtime/redis-runs-sshd.yml",
            "config/nginx-privileged-host-port.yml",
            "config/rabbitmq-host-fuse-device.yml",
            "config/nginx-shared-mount-propagation.yml",
            "config/gateway-seccomp-unconfined.yml",
            "config/gateway-cgroup-parent.yml",
            "config/nginx-on-default-bridge.yml",
            "config/redis-apparmor-unconfined.yml",
            "config/postgres-selinux-labels-disabled.yml",
        ),
        tuple(f"RUNTIME-{n:03d}" for n in range(1, 23) if n not in (14, 15)),
        host_confined=(("RUNTIME-014", "apparmor"), ("RUNTIME-015", "selinux")),
    ),
    MutantRun(
        "default-credentials-everywhere",
        (
            "cred/rabbitmq-guest-reachable.yml",
            "cred/redis-without-password.yml",
            "cred/postgres-trusts-host-connections.yml",
            "config/gateway-dev-jwt-secret.yml",
            "cred/nginx-legacy-edge.yml",
            "cred/postgres-app-role-creates-roles.yml",
        ),
        ("CRED-001", "CRED-002", "CRED-005", "CRED-006", "CRED-007", "CRED-009", "CRED-010", "CRED-012", "CRED-015",
         "CRED-016", "CRED-017", "CRED-018", "CRED-019"),
        # The application role is no superuser here: CRED-012 fails for what the one-shot job granted.
        must_say=(("CRED-012", "holds CREATEROLE, CREATEDB"),),
    ),
    MutantRun(
        # With them, the migrations as the superuser (ROLLOUT-011) and adding an index on every
        # run (ROLLOUT-012): two faults of one service that do not meet (who logs in, and what
        # runs after the recorded migrations); CRED-012 judges the gateway's login, not theirs.
        # The worker that acks before it writes (ROLLOUT-010) still logs in to the broker as its admin.
        # And (other keys of the same services): the edge logs to files, Redis's logs rotate at no
        # useful bound, the workers drop the correlation id; OBS-001 reads the edge's answers and
        # the workers' logs, never the edge's log.
        "over-privileged-application-users-logs-to-files-unbounded-dropped-correlation-id",
        (
            "cred/services-use-rabbitmq-admin.yml",
            "cred/redis-app-user-can-configure.yml",
            "cred/postgres-md5.yml",
            "cred/gateway-uses-postgres-superuser.yml",
            "cred/gateway-jwt-leeway-a-day.yml",
            "config/edge-on-all-interfaces.yml",
            "rollout/migrations-as-superuser.yml",
            "rollout/migrations-add-an-index-every-run.yml",
            "rollout/order-service-acks-before-writing.yml",
            "obs/nginx-logs-to-files.yml",
            "obs/redis-logs-unbounded.yml",
            "obs/order-service-drops-correlation-id.yml",
        ),
        ("CRED-003", "CRED-008", "CRED-011", "CRED-012", "CRED-014", "RUNTIME-003",
         "ROLLOUT-010", "ROLLOUT-011", "ROLLOUT-012", "OBS-001", "OBS-002", "OBS-004"),
        must_say=(
            ("ROLLOUT-011", "eventstore_admin, which has super"), ("ROLLOUT-012", "orders_status_idx1"),
            ("OBS-001", "missing from the order-service log"),
            ("OBS-002", "nginx#1 writes to /tmp/nginx-access.log"),
            ("OBS-004", "redis#1: json-file keeps up to 50g x 20 files"),
        ),
    ),
    MutantRun(
        # The gateway keeps its own Redis user, so only the stale cache makes HEALTH-008 fail;
        # the network mutants are apart from the run below, where nginx already fails NET-002
        # and postgres NET-004/NET-005.
        "seed-defaults-open-gateway-stale-health-exposed-cache-and-broker",
        (
            "cred/postgres-seed-credentials.yml",
            "cred/redis-seed-password.yml",
            "cred/rabbitmq-seed-admin.yml",
            "cred/gateway-auth-disabled.yml",
            "health/gateway-stale-health-cache.yml",
            "network/redis-on-backend-network.yml",
            "config/rabbitmq-management-published.yml",
            # And the metrics tier, broken in six ways: the order-service's metrics port, seed 004's
            # rules, seed 001's queue depth rule, its Alertmanager, its flags, and its port published
            # (NET-005 then fails for it as well as for the management UI). OBS-010 fails for its own
            # rule: QueueDepthWarning never fires in Prometheus (the wrong port alone leaves it firing there).
            "obs/order-service-metrics-on-another-port.yml",
            "obs/prometheus-rules-without-high-response-time.yml",
            "obs/prometheus-queue-depth-on-unacked-messages.yml",
            "obs/prometheus-alerts-to-a-wrong-port.yml",
            "obs/prometheus-admin-api-enabled.yml",
            "obs/prometheus-published.yml",
        ),
        ("CRED-004", "CRED-013", "HEALTH-008", "NET-002", "NET-004", "NET-005",
         "OBS-005", "OBS-006", "OBS-007", "OBS-008", "OBS-009", "OBS-010"),
        must_say=(
            ("OBS-005", "order-service http://"), ("OBS-006", "not loaded: HighResponseTime"),
            ("OBS-007", "never reached Alertmanager"), ("OBS-008", "the admin API is on"),
            ("OBS-009", "prometheus:9090 from host"), ("OBS-010", "in Prometheus: inactive"),
        ),
    ),
    MutantRun(
        "edge-on-the-event-store-network",
        (
            "network/nginx-on-database-network.yml",
            "network/backend-not-internal.yml",
            "network/postgres-on-all-interfaces.yml",
            "network/order-service-debug-listener.yml",
            "cred/redis-app-user-without-password.yml",
        ),
        # The cache's networks are untouched: CRED-006 fails for the gateway's `nopass` ACL user alone.
        ("NET-001", "NET-002", "NET-003", "NET-004", "NET-005", "NET-006", "CRED-006"),
        must_say=(("CRED-006", "for user gateway"),),
    ),
    MutantRun(
        # Scripts that exit 0 and lose data; the stores themselves are the reference ones. The
        # migration that empties the orders table (ROLLOUT-013) only runs when that control runs
        # it, alone: the backups' round trips compare what they dump against the store as it is.
        # And a gateway that ignores SIGTERM (ROLLOUT-003: the load timeline's shutdown phase
        # alone), which no backup round trip touches.
        "lossy-backup-scripts-lossy-migration-gateway-ignores-sigterm",
        ("backup/lossy-ops-scripts.yml", "rollout/migrations-drop-and-recreate-orders.yml",
         "rollout/gateway-ignores-sigterm.yml"),
        ("BACKUP-001", "BACKUP-002", "BACKUP-004", "BACKUP-006", "ROLLOUT-013", "ROLLOUT-003"),
        must_say=(("ROLLOUT-013", "public.orders 0/"), ("ROLLOUT-003", "did not exit on SIGTERM")),
    ),
    MutantRun(
        # Each store loses data in its own way, so each control fails for its own mutant:
        # BACKUP-008 for the event store and the cache alike.
        "volatile-data-stores",
        (
            "backup/postgres-data-on-tmpfs.yml",
            "backup/redis-persistence-off.yml",
            "backup/gateway-transient-orders.yml",
        ),
        ("BACKUP-003", "BACKUP-005", "BACKUP-007", "BACKUP-008"),
    ),
]
MUTANT_RUNS += [
    MutantRun(
        # The slow gateway misses LOAD-001's thresholds; shares (SCALE-001) and rotation after a
        # scale-out (SCALE-003) fail for the single upstream whatever the latency; SCALE-002 for
        # the lone consumer, however slowly its orders arrive.
        "scale-single-upstream-single-consumer-slow-gateway",
        (
            "scale/nginx-single-upstream.yml",
            "scale/order-service-single-replica.yml",
            "scale/gateway-slow.yml",
        ),
        ("SCALE-001", "SCALE-002", "SCALE-003", "SCALE-006", "LOAD-001"),
    ),
    MutantRun(
        # Without failover, scale-in (SCALE-004) and a killed replica (SCALE-005) fail requests
        # on their own; the hung replica fails SCALE-001, which the run above fails otherwise.
        "scale-edge-without-failover-hung-replica",
        (
            "scale/nginx-without-failover.yml",
            "scale/gateway-one-replica-hangs.yml",
        ),
        ("SCALE-001", "SCALE-004", "SCALE-005"),
    ),
]

# Kubernetes manifests: each a strategic-merge patch layered over the reference manifests in
# k8s/ (`--manifests k8s --manifests tests/mutants/kube/FILE`), failing its one KUBE control.
# Proven in-process by tests/test_kube.py: they need no stack and no compose file.


def _kube(control_id: str, patch: str) -> MutantRun:
    return MutantRun(patch.removesuffix(".yaml"), (f"kube/{patch}",), (control_id,), live=False)


PLIERS = "stack/pliers/docker-compose.yml"
MUTANT_RUNS += [
    MutantRun("pliers-ai-service-published", ("pliers/ai-service-published.yml",), ("CONFIG-010",), live=False,
              stack_file=PLIERS),
    MutantRun(
        # Seed 002's second platform, broken where it differs from the first: a Docker secret
        # back in an environment, the AI service published, Redis without its password, /ai/
        # pinned to one replica and /api/ without failover at the edge, the API on the web
        # frontend's network, the AI service's releases replacing every replica at once; each
        # touches a different service or network. ROLLOUT-001 names both of its own: the load
        # goes through /api/, so the failed requests are the edge's, and /ai/'s rollout leaves
        # no replica serving whatever the load.
        "pliers-secret-in-env-published-ai-open-redis-ai-on-one-replica-releases-break",
        ("pliers/api-jwt-secret-in-environment.yml", "pliers/ai-service-published.yml",
         "pliers/redis-without-password.yml", "pliers/edge-ai-single-replica.yml",
         "pliers/api-on-frontend-network.yml", "pliers/ai-service-replaced-all-at-once.yml"),
        ("RUNTIME-023", "NET-005", "CRED-005", "CRED-006", "CRED-007", "SCALE-006", "NET-007", "ROLLOUT-001"),
        stack_file=PLIERS,
        must_say=(("ROLLOUT-001", "ai-service: only 0 of 2 replicas serving"),
                  ("ROLLOUT-001", "of requests failed during the rolling-update phase")),
    ),
]

KUBE_MUTANTS = [
    _kube("KUBE-001", "order-service-without-liveness-probe.yaml"),
    _kube("KUBE-002", "gateway-ready-on-root.yaml"),
    _kube("KUBE-003", "order-service-identical-probes.yaml"),
    _kube("KUBE-003", "gateway-liveness-gives-up-first.yaml"),
    _kube("KUBE-004", "gateway-max-surge-3.yaml"),
    _kube("KUBE-004", "order-service-recreate.yaml"),
    _kube("KUBE-005", "gateway-no-revision-history.yaml"),
    _kube("KUBE-006", "order-service-single-replica.yaml"),
    _kube("KUBE-007", "gateway-without-disruption-budget.yaml"),
    _kube("KUBE-007", "order-service-budget-blocks-drains.yaml"),
    _kube("KUBE-008", "redis-without-limits.yaml"),
    _kube("KUBE-009", "order-service-runs-as-root.yaml"),
    _kube("KUBE-010", "rabbitmq-privilege-escalation-allowed.yaml"),
    _kube("KUBE-010", "order-service-privileged.yaml"),
    _kube("KUBE-011", "redis-adds-sys-admin.yaml"),
    _kube("KUBE-012", "nginx-writable-root.yaml"),
    _kube("KUBE-013", "gateway-literal-jwt-secret.yaml"),
    _kube("KUBE-013", "platform-secrets-in-manifests.yaml"),
    _kube("KUBE-013", "configmap-database-url.yaml"),
    _kube("KUBE-014", "nginx-image-latest.yaml"),
    _kube("KUBE-014", "order-service-untagged-image.yaml"),
    _kube("KUBE-015", "edge-reaches-postgres.yaml"),
    _kube("KUBE-015", "postgres-admits-all-namespaces.yaml"),
    _kube("KUBE-015", "redis-not-isolated.yaml"),
    _kube("KUBE-015", "gateway-cannot-reach-broker.yaml"),
    _kube("KUBE-004", "gateway-unavailable-half-of-autoscaled.yaml"),
    _kube("KUBE-012", "postgres-writable-root.yaml"),
    _kube("KUBE-012", "rabbitmq-writable-root-without-reason.yaml"),
    _kube("KUBE-016", "order-service-host-pid.yaml"),
    _kube("KUBE-016", "nginx-host-port.yaml"),
    _kube("KUBE-016", "gateway-docker-socket.yaml"),
    _kube("KUBE-017", "redis-seccomp-unconfined.yaml"),
    _kube("KUBE-017", "gateway-without-seccomp-profile.yaml"),
    _kube("KUBE-018", "order-service-token-by-default.yaml"),
    _kube("KUBE-018", "gateway-mounts-token-without-binding.yaml"),
]
MUTANT_RUNS += [
    MutantRun(
        # Healthchecks that check nothing or only a peer (HEALTH-010) and networks wider than
        # the roles need (NET-007, NET-008); the breakages touch different things, so one
        # bring-up proves each by name.
        "healthchecks-that-check-nothing-networks-too-wide",
        (
            "health/gateway-healthcheck-always-passes.yml",
            "health/postgres-healthcheck-asks-another-process.yml",
            "health/order-service-healthcheck-asks-a-peer.yml",
            "network/order-service-on-public-network.yml",
            "network/redis-on-backend-network.yml",
            "network/frontend-not-internal.yml",
        ),
        # ROLLOUT-002 too: a gateway healthcheck that always passes takes a broken release as healthy.
        ("HEALTH-010", "NET-007", "NET-008", "ROLLOUT-002"),
        must_say=(
            ("ROLLOUT-002", "api-gateway: the broken release went through"),
            ("HEALTH-010", "api-gateway: still healthy after"),
            ("HEALTH-010", "postgres: still healthy after"),
            ("HEALTH-010", "order-service: still healthy after"),
            ("NET-007", "order-service joins public, where none of its peers is"),
            ("NET-007", "redis joins backend for api-gateway"),
            ("NET-008", "api-gateway has a route out over frontend"),
            ("NET-008", "order-service has a route out over public"),
        ),
    ),
]

