"""Runtime: what the running containers actually are, from `docker inspect` (CIS Docker Benchmark 1.6.0 §4-5).

The CONFIG chapter judges what the files declare; this one judges what runs, which is what
matters for a deployment started by other means (--target existing).
"""

from fixtures import secret_files
from fixtures.applicability import not_applicable
from fixtures.controls import control
from fixtures.policy import SENSITIVE_HOST_PATHS, is_loopback

HOST_NAMESPACE_MODES = {"NetworkMode": "network", "PidMode": "pid", "IpcMode": "ipc", "UTSMode": "uts",
                        "UsernsMode": "userns"}
# Capabilities a service may add back after dropping ALL: none of the reference services needs one.
ALLOWED_CAPABILITIES: set[str] = set()
NO_NEW_PRIVILEGES = {"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"}
ROOT_USERS = {"", "root", "0", "0:0", "root:root"}


def _each_container(stack):
    """(label, inspect attrs) for every container of every service, in a stable order."""
    for service in sorted(stack.model.services):
        for index, container in enumerate(stack.containers(service), 1):
            container.reload()
            yield f"{service}#{index}", container


def _capability(name: str) -> str:
    return name.upper().removeprefix("CAP_")


@control("RUNTIME-001", severity="critical", reference="CIS Docker 1.6.0 5.5")
def test_no_container_runs_privileged(stack):
    """No container runs with --privileged."""
    privileged = [label for label, c in _each_container(stack) if c.attrs["HostConfig"].get("Privileged")]
    assert not privileged, f"privileged containers: {', '.join(privileged)}"


@control("RUNTIME-002", severity="critical", reference="CIS Docker 1.6.0 5.10, 5.16, 5.17, 5.21, 5.31")
def test_no_container_shares_a_host_namespace(stack):
    """No container shares the host's network, PID, IPC, UTS or user namespace."""
    shared = [f"{label}: {namespace}" for label, c in _each_container(stack)
              for key, namespace in HOST_NAMESPACE_MODES.items() if c.attrs["HostConfig"].get(key) == "host"]
    assert not shared, f"host namespaces shared: {', '.join(shared)}"


@control("RUNTIME-003", severity="critical", reference="CIS Docker 1.6.0 5.14")
def test_port_bindings_are_loopback_only(stack):
    """Every host port binding is on a loopback address; 0.0.0.0, [::] and unbound ports fail.

    Rationale: docker-bench-security's 5.14 only looks for 0.0.0.0 and lets [::] through.
    """
    exposed = []
    for label, container in _each_container(stack):
        for port, bindings in (container.attrs["HostConfig"].get("PortBindings") or {}).items():
            for binding in bindings or []:
                host_ip = binding.get("HostIp") or ""
                if not is_loopback(host_ip):
                    exposed.append(f"{label} {host_ip or '(all interfaces)'}:{binding.get('HostPort')}->{port}")
    assert not exposed, f"ports bound beyond loopback: {', '.join(exposed)}"


@control("RUNTIME-004", severity="high", reference="CIS Docker 1.6.0 5.4")
def test_capabilities_are_dropped(stack):
    """Every container drops ALL capabilities and adds none back."""
    problems = []
    for label, container in _each_container(stack):
        host = container.attrs["HostConfig"]
        dropped = {_capability(c) for c in host.get("CapDrop") or []}
        added = {_capability(c) for c in host.get("CapAdd") or []} - ALLOWED_CAPABILITIES
        if "ALL" not in dropped:
            problems.append(f"{label} does not drop ALL")
        if added:
            problems.append(f"{label} adds {', '.join(sorted(added))}")
    assert not problems, "; ".join(problems)


@control("RUNTIME-005", severity="high", reference="CIS Docker 1.6.0 5.26")
def test_no_new_privileges_is_set(stack):
    """Every container runs with no-new-privileges:true, exactly; no-new-privileges:false fails.

    Rationale: docker-bench-security's 5.26 matches the string "no-new-privileges" and so
    passes a container that explicitly sets it to false.
    """
    missing = []
    for label, container in _each_container(stack):
        options = {o.replace(" ", "") for o in container.attrs["HostConfig"].get("SecurityOpt") or []}
        if not options & NO_NEW_PRIVILEGES:
            missing.append(f"{label} ({', '.join(sorted(options)) or 'no security options'})")
    assert not missing, f"without no-new-privileges:true: {', '.join(missing)}"


@control("RUNTIME-006", severity="medium", reference="CIS Docker 1.6.0 5.11")
def test_memory_is_limited(stack):
    """Every container runs with a memory limit."""
    unlimited = [label for label, c in _each_container(stack) if not c.attrs["HostConfig"].get("Memory")]
    assert not unlimited, f"no memory limit: {', '.join(unlimited)}"


@control("RUNTIME-007", severity="medium", reference="CIS Docker 1.6.0 5.12")
def test_cpu_is_limited(stack):
    """Every container runs with a CPU limit (NanoCpus or a CFS quota)."""
    unlimited = [label for label, c in _each_container(stack)
                 if not (c.attrs["HostConfig"].get("NanoCpus") or c.attrs["HostConfig"].get("CpuQuota"))]
    assert not unlimited, f"no CPU limit: {', '.join(unlimited)}"


@control("RUNTIME-008", severity="medium", reference="CIS Docker 1.6.0 5.29")
def test_pids_are_limited(stack):
    """Every container runs with a PIDs limit, so a fork bomb stays inside it."""
    unlimited = [label for label, c in _each_container(stack) if (c.attrs["HostConfig"].get("PidsLimit") or 0) <= 0]
    assert not unlimited, f"no PIDs limit: {', '.join(unlimited)}"


@control("RUNTIME-009", severity="critical", reference="CIS Docker 1.6.0 5.6, 5.32")
def test_no_sensitive_host_path_is_mounted(stack):
    """No container mounts the Docker socket or a sensitive host directory."""
    mounted = []
    for label, container in _each_container(stack):
        for mount in container.attrs.get("Mounts") or []:
            source = (mount.get("Source") or "").rstrip("/") or "/"
            if mount.get("Type") == "bind" and source in SENSITIVE_HOST_PATHS:
                mounted.append(f"{label}: {source}")
    assert not mounted, f"sensitive host paths mounted: {', '.join(mounted)}"


@control("RUNTIME-010", severity="medium", reference="CIS Docker 1.6.0 5.15")
def test_restart_policy_is_set(stack):
    """Every container has a restart policy (on-failure, unless-stopped or always), so a crash is not an outage.

    CIS 5.15 prefers on-failure with at most 5 retries; the seeds use unless-stopped, which
    this control accepts. An on-failure policy with more than 5 retries fails.
    """
    problems = []
    for label, container in _each_container(stack):
        policy = container.attrs["HostConfig"].get("RestartPolicy") or {}
        name, retries = policy.get("Name") or "no", policy.get("MaximumRetryCount") or 0
        if name not in ("on-failure", "unless-stopped", "always"):
            problems.append(f"{label} ({name})")
        elif name == "on-failure" and retries > 5:
            problems.append(f"{label} (on-failure:{retries})")
    assert not problems, f"restart policy missing or unbounded: {', '.join(problems)}"


@control("RUNTIME-011", severity="medium", reference="CIS Docker 1.6.0 5.27")
def test_every_container_has_a_runtime_healthcheck(stack):
    """Every running container has a healthcheck configured (not disabled)."""
    missing = []
    for label, container in _each_container(stack):
        test = (container.attrs["Config"].get("Healthcheck") or {}).get("Test") or []
        if not test or test[0] == "NONE":
            missing.append(label)
    assert not missing, f"no healthcheck at runtime: {', '.join(missing)}"


@control("RUNTIME-012", severity="high", reference="CIS Docker 1.6.0 4.1")
def test_no_container_process_runs_as_root(stack):
    """Every container runs as a non-root user, and none of its processes is root.

    No exception is needed on the reference platform: every image runs as its service user
    from PID 1 on (postgres, rabbitmq, redis, www-data, app).
    """
    problems = []
    for label, container in _each_container(stack):
        user = container.attrs["Config"].get("User") or ""
        if user in ROOT_USERS:
            problems.append(f"{label} runs as {user or 'root (no USER)'}")
            continue
        if container.status != "running":
            continue
        top = container.top(ps_args="-o uid,pid,comm")
        uid_column = top["Titles"].index("UID")
        root = [p for p in top["Processes"] if p[uid_column] in ("0", "root")]
        if root:
            problems.append(f"{label} has root processes: {', '.join(p[-1] for p in root)}")
    assert not problems, "; ".join(problems)


@control("RUNTIME-013", severity="critical", reference="seed 002 §Secret Management; seed 000 §Best Practices 4", needs=())
def test_no_secret_is_in_any_container_environment(stack, observed):
    """No value of the platform's Docker secrets appears in any container's environment (Config.Env).

    Rationale: a platform that declares Docker secrets promises that `docker inspect`,
    `docker exec env` and every dump of a process environment show none of them; one
    service that takes its password from a variable again (seed 002's own compose file
    passes JWT_SECRET and DATABASE_URL that way) breaks the promise for the whole platform.
    Values are matched inside variables too, so a password embedded in a URL counts.
    """
    declared = sorted(stack.model.raw.get("secrets") or {})
    if not declared:
        not_applicable("the platform declares no Docker secrets (top-level `secrets:`)")
    values = secret_files.read_values(stack.model.raw)
    unreadable = [name for name in declared if name not in values]
    assert values, f"no declared secret could be read on this host ({', '.join(unreadable)}): nothing to compare"
    found = [f"{label}: {variable} carries secret {name}" for label, container in _each_container(stack)
             for variable, name in secret_files.in_environment(container.attrs["Config"].get("Env") or [], values)]
    observed(f"compared {', '.join(sorted(values))} with every container's environment"
             + (f"; not readable here: {', '.join(unreadable)}" if unreadable else ""))
    assert not found, f"secrets in container environments: {'; '.join(found)}"
