"""Config: what the compose files declare, judged on the resolved model without a bring-up."""

import re

from fixtures.controls import control
from fixtures.policy import EDGE_SERVICES, SENSITIVE_HOST_PATHS, is_loopback
# Where each data service keeps its state (seed 003 §Data Persistence, official images' paths).
DATA_PATHS = {"postgres": "/var/lib/postgresql/data", "rabbitmq": "/var/lib/rabbitmq", "redis": "/data"}
SECRET_NAME = re.compile(r"(PASS(WORD)?|SECRET|TOKEN|AUTH|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)$", re.IGNORECASE)
SECRET_FLAGS = ("--requirepass", "--masterauth", "--password")
URL_WITH_PASSWORD = re.compile(r"://[^/:@\s]*:([^@\s]+)@")
HOST_NAMESPACES = {"network_mode": "network", "pid": "pid", "ipc": "ipc", "uts": "uts", "userns_mode": "userns"}


def _is_literal(value: str) -> bool:
    """A value written into the file, not a ${VAR} reference resolved from the environment."""
    return bool(value) and "${" not in value and not value.startswith("$")


def _secret_literals(name: str, service: dict) -> list[str]:
    found = []
    environment = service.get("environment") or {}
    if isinstance(environment, list):  # the written model keeps `- KEY=value` lists as the file has them
        environment = dict(entry.partition("=")[::2] for entry in environment)
    for key, value in environment.items():
        value = "" if value is None else str(value)
        password = URL_WITH_PASSWORD.search(value)
        if SECRET_NAME.search(key) and _is_literal(value):
            found.append(f"{name}: environment {key}")
        elif password and _is_literal(password.group(1)):
            found.append(f"{name}: environment {key} embeds a password in its URL")
    command = service.get("command") or []
    command = command.split() if isinstance(command, str) else [str(part) for part in command]
    for flag, value in zip(command, command[1:]):
        if flag in SECRET_FLAGS and _is_literal(value):
            found.append(f"{name}: command {flag}")
    # Redis ACL rules in the command: ">password" adds a password to a user.
    found += [f"{name}: command ACL password" for part in command if part.startswith(">") and _is_literal(part[1:])]
    return found


@control("CONFIG-001", severity="medium", reference="seed 001 §Resource Limits; seed 000 §Best Practices 2")
def test_every_service_has_memory_and_cpu_limits(compose_model):
    """Every service declares a memory limit and a CPU limit.

    Rationale: without limits one runaway service starves the host (seed 000: "Prevent resource exhaustion").
    """
    missing = []
    for name, service in sorted(compose_model.services.items()):
        limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        if not (limits.get("memory") or service.get("mem_limit")):
            missing.append(f"{name}: memory")
        if not (limits.get("cpus") or service.get("cpus")):
            missing.append(f"{name}: cpus")
    assert not missing, f"limits missing: {', '.join(missing)}"


@control("CONFIG-002", severity="medium", reference="CIS Docker 1.6.0 5.15; seed 000 §Best Practices")
def test_every_service_has_a_restart_policy(compose_model):
    """Every service declares a restart policy other than "no"."""
    missing = []
    for name, service in sorted(compose_model.services.items()):
        policy = service.get("restart") or ((service.get("deploy") or {}).get("restart_policy") or {}).get("condition")
        if not policy or policy in ("no", "none"):
            missing.append(f"{name} ({policy or 'unset'})")
    assert not missing, f"no restart policy: {', '.join(missing)}"


@control("CONFIG-003", severity="medium", reference="seed 002 §Production Deployment Checklist (Build all Docker images)")
def test_every_image_is_pinned(compose_model):
    """Every image names an explicit tag other than latest, or a digest."""
    floating = []
    for name, service in sorted(compose_model.services.items()):
        image = str(service.get("image") or "")
        if "@sha256:" in image:
            continue
        last = image.rsplit("/", 1)[-1]
        tag = last.split(":", 1)[1] if ":" in last else ""
        if not image or not tag or tag == "latest":
            floating.append(f"{name} ({image or 'no image'})")
    assert not floating, f"images not pinned: {', '.join(floating)}"


@control("CONFIG-004", severity="critical", reference="seed 000 §Best Practices 4; seed 001 §Change Default Credentials")
def test_no_secret_is_written_in_the_compose_files(compose_model):
    """No password, token or key is written literally in the compose files; they come from the environment.

    Rationale: the seeds' dev defaults (admin123, redis123, dev-secret-key-change-in-production)
    live in compose files; "Never commit secrets to repository".
    """
    literals = [found for name, service in sorted(compose_model.written_services.items())
                for found in _secret_literals(name, service)]
    assert not literals, f"secrets written literally: {'; '.join(literals)}"


@control("CONFIG-005", severity="high", reference="seed 003 §Data Persistence; seed 001 §Data Persistence")
def test_data_services_keep_data_on_named_volumes(compose_model):
    """PostgreSQL, RabbitMQ and Redis keep their data directory on a named volume."""
    problems = []
    for name, path in DATA_PATHS.items():
        if name not in compose_model.services:
            continue
        service = compose_model.service(name)
        mounts = [m for m in service.get("volumes") or [] if m.get("target") == path]
        if any(str(t).split(":")[0] == path for t in service.get("tmpfs") or []):
            problems.append(f"{name}: {path} is a tmpfs")
        elif not mounts:
            problems.append(f"{name}: nothing mounted at {path}")
        elif mounts[0].get("type") != "volume" or not mounts[0].get("source"):
            problems.append(f"{name}: {path} is a {mounts[0].get('type')} mount, not a named volume")
    assert not problems, "; ".join(problems)


@control("CONFIG-006", severity="critical", reference="CIS Docker 1.6.0 5.5")
def test_no_service_is_privileged(compose_model):
    """No service runs privileged."""
    privileged = sorted(name for name, service in compose_model.services.items() if service.get("privileged"))
    assert not privileged, f"privileged: {', '.join(privileged)}"


@control("CONFIG-007", severity="critical", reference="CIS Docker 1.6.0 5.10, 5.16, 5.17, 5.21, 5.31")
def test_no_service_shares_a_host_namespace(compose_model):
    """No service shares the host's network, PID, IPC, UTS or user namespace."""
    shared = [f"{name}: {namespace}" for name, service in sorted(compose_model.services.items())
              for key, namespace in HOST_NAMESPACES.items() if service.get(key) == "host"]
    assert not shared, f"host namespaces shared: {', '.join(shared)}"


@control("CONFIG-008", severity="critical", reference="CIS Docker 1.6.0 5.6, 5.32")
def test_no_service_mounts_the_docker_socket_or_host_system_paths(compose_model):
    """No service bind-mounts the Docker socket or a sensitive host directory (/, /etc, /proc, ...)."""
    mounted = []
    for name, service in sorted(compose_model.services.items()):
        for mount in service.get("volumes") or []:
            source = str(mount.get("source") or "").rstrip("/") or "/"
            if mount.get("type") == "bind" and source in SENSITIVE_HOST_PATHS:
                mounted.append(f"{name}: {source}")
    assert not mounted, f"sensitive host paths mounted: {', '.join(mounted)}"


@control("CONFIG-009", severity="critical", reference="CIS Docker 1.6.0 5.14; seed 001 §Network Isolation")
def test_published_ports_bind_to_loopback(compose_model):
    """Every published port binds an explicit loopback address (no unbound, 0.0.0.0 or [::] ports)."""
    exposed = []
    for name, service in sorted(compose_model.services.items()):
        for port in service.get("ports") or []:
            host_ip = str(port.get("host_ip") or "")
            if not is_loopback(host_ip):
                exposed.append(f"{name} {host_ip or '(all interfaces)'}:{port.get('published') or '?'}->{port.get('target')}")
    assert not exposed, f"ports published beyond loopback: {', '.join(exposed)}"


@control("CONFIG-010", severity="high", reference="seed 001 §Network Isolation; seed 002 §Network Security")
def test_only_the_edge_publishes_ports(compose_model):
    """Only the edge (nginx) publishes host ports; data services, broker and gateways stay internal."""
    publishing = sorted(name for name, service in compose_model.services.items()
                        if service.get("ports") and name not in EDGE_SERVICES)
    assert not publishing, f"non-edge services publish ports: {', '.join(publishing)}"
