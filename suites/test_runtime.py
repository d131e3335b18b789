"""Runtime: what the running containers actually are, from `docker inspect` (CIS Docker Benchmark 1.6.0 §4-5).

The CONFIG chapter judges what the files declare; this one judges what runs, which is what
matters for a deployment started by other means (--target existing).
"""

from fixtures import secret_files
from fixtures.applicability import not_applicable
from fixtures.controls import control
from fixtures.deploy_model import restart_policy
from fixtures.policy import is_loopback, sensitive_host_path

HOST_NAMESPACE_MODES = {"NetworkMode": "network", "PidMode": "pid", "IpcMode": "ipc", "UTSMode": "uts",
                        "UsernsMode": "userns"}
# Capabilities a service may add back after dropping ALL: none of the reference services needs one.
ALLOWED_CAPABILITIES: set[str] = set()
NO_NEW_PRIVILEGES = {"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"}
ROOT_USERS = {"", "root", "0", "0:0", "root:root"}
RESTARTING = ("on-failure", "unless-stopped", "always")
MAX_RETRIES = 5  # CIS 5.15's bound for on-failure


def _each_container(stack, long_running: bool = False):
    """(label, inspect attrs) for every container of every service, in a stable order; without
    the one-shots' (which exit when done) when `long_running`."""
    for service in sorted(set(stack.model.services) - (stack.model.one_shots if long_running else set())):
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
    """No container mounts the Docker socket or a sensitive host directory, below one or above one (CONFIG-008's rule)."""
    mounted = []
    for label, container in _each_container(stack):
        for mount in container.attrs.get("Mounts") or []:
            if mount.get("Type") == "bind" and (why := sensitive_host_path(
                    mount.get("Source") or "", mount.get("RW") is False, stack.model.project_dir)):
                mounted.append(f"{label}: {why}")
    assert not mounted, f"sensitive host paths mounted: {', '.join(mounted)}"


@control("RUNTIME-010", severity="medium", reference="CIS Docker 1.6.0 5.15")
def test_restart_policy_is_set(stack, orchestrated_by_swarm, observed):
    """Every container has a restart policy (on-failure, unless-stopped or always), so a crash is not an outage.

    CIS 5.15 prefers on-failure with at most 5 retries; the seeds use unless-stopped, which
    this control accepts. An on-failure policy with more than 5 retries fails. On Docker Swarm
    a task's container has none of its own (the engine's says `no`): Swarm restarts the task by
    its service's `deploy.restart_policy` (`any` is always, its default when none is declared;
    `max_attempts` the retries), which is judged for each service instead.
    """
    if orchestrated_by_swarm:
        policies = swarm_restart_policies(stack.model.services)
        observed("judged each service's deploy.restart_policy: Swarm restarts tasks, their containers do not")
    else:
        policies = {}
        for label, container in _each_container(stack):
            policy = container.attrs["HostConfig"].get("RestartPolicy") or {}
            policies[label] = (policy.get("Name") or "no", policy.get("MaximumRetryCount") or 0)
    problems = [fault for label, (name, retries) in policies.items() if (fault := restart_fault(label, name, retries))]
    assert not problems, f"restart policy missing or unbounded: {', '.join(problems)}"


def swarm_restart_policies(services: dict) -> dict[str, tuple[str, int]]:
    """Each service's restart policy as Swarm runs it, labelled as RUNTIME-010's finding names it."""
    return {f"{name}'s deploy.restart_policy": restart_policy(service, True) for name, service in sorted(services.items())}


def restart_fault(label: str, name: str, retries: int) -> str:
    """RUNTIME-010's fault with one restart policy (engine words, retries), "" when there is none."""
    if name not in RESTARTING:
        return f"{label} ({name})"
    return f"{label} (on-failure:{retries})" if name == "on-failure" and retries > MAX_RETRIES else ""


@control("RUNTIME-011", severity="medium", reference="CIS Docker 1.6.0 5.27")
def test_every_container_has_a_runtime_healthcheck(stack):
    """Every container of a long-running service has a healthcheck configured (not disabled); a one-shot's health is its exit code."""
    missing = []
    for label, container in _each_container(stack, long_running=True):
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


# --- CIS Docker 1.6.0 section 5, the rest of what docker-bench-security automates -------------
# docs/cis-docker-bench.md puts each of its 32 checks beside the control that covers it.

UNCONFINED = {"unconfined", ""}
# SELinux types that confine nothing: a container labelled with one is as good as unlabelled.
UNCONFINED_SELINUX_TYPES = {"spc_t", "unconfined_t"}
SSH_DAEMONS = {"sshd", "dropbear"}
PRIVILEGED_PORTS = range(1, 1024)  # below 1024; docker-bench-security flags 1024 too
SHARED_PROPAGATION = {"shared", "rshared"}


def _security_options(container) -> list[str]:
    """HostConfig.SecurityOpt, spelled one way: the engine takes `seccomp:unconfined` for seccomp=unconfined."""
    options = [o.replace(" ", "") for o in container.attrs["HostConfig"].get("SecurityOpt") or []]
    return [o if "=" in o else o.replace(":", "=", 1) for o in options]


def apparmor_problem(attrs: dict, options: list[str]) -> str | None:
    """Why a container runs without an AppArmor profile on a host that has AppArmor, or None."""
    if attrs["HostConfig"].get("Privileged"):
        return "privileged (AppArmor off)"
    if "apparmor=unconfined" in options:
        return "apparmor=unconfined"
    if (attrs.get("AppArmorProfile") or "") in UNCONFINED:
        return f"profile {attrs.get('AppArmorProfile') or '(none)'}"
    return None


def selinux_problem(attrs: dict, options: list[str]) -> str | None:
    """Why a container runs without a confining SELinux label on a host that has SELinux, or None."""
    if attrs["HostConfig"].get("Privileged"):
        return "privileged (unlabelled)"
    if "label=disable" in options:
        return "label=disable"
    label = attrs.get("ProcessLabel") or ""
    parts = label.split(":")
    if not label:
        return "no process label"
    if len(parts) > 2 and parts[2] in UNCONFINED_SELINUX_TYPES:
        return f"label type {parts[2]}"
    return None


@control("RUNTIME-013", severity="high", reference="CIS Docker 1.6.0 5.13")
def test_root_filesystems_are_read_only(stack):
    """Every container runs with a read-only root filesystem.

    Rationale: a compromised process cannot plant a binary or rewrite a config in the image;
    what a service must write lives on its volume or a tmpfs, declared where anyone can see it.
    """
    writable = [label for label, c in _each_container(stack) if not c.attrs["HostConfig"].get("ReadonlyRootfs")]
    assert not writable, f"root filesystem writable: {', '.join(writable)}"


@control("RUNTIME-014", severity="high", reference="CIS Docker 1.6.0 5.2")
def test_containers_run_under_apparmor_where_the_host_has_it(stack, engine_facts):
    """Every container runs under an AppArmor profile, on a host that runs AppArmor.

    Rationale: docker-bench-security warns on any host without AppArmor; on such a host this
    control is not applicable (with that reason), and never passes. privileged and
    apparmor=unconfined take the profile away, so they fail here too.
    """
    engine_facts.require("apparmor", "AppArmor")
    unconfined = [f"{label} ({problem})" for label, c in _each_container(stack)
                  if (problem := apparmor_problem(c.attrs, _security_options(c)))]
    assert not unconfined, f"without an AppArmor profile: {', '.join(unconfined)}"


@control("RUNTIME-015", severity="high", reference="CIS Docker 1.6.0 5.3")
def test_containers_run_under_selinux_labels_where_the_host_has_it(stack, engine_facts):
    """Every container runs under a confining SELinux label, on a host that runs SELinux.

    Rationale: docker-bench-security's 5.3 passes any container with any security option
    (no-new-privileges is one), label or none; this control judges the label the process
    runs with: none, label=disable, spc_t and unconfined_t fail. Not applicable, never a
    pass, on a host without SELinux.
    """
    engine_facts.require("selinux", "SELinux")
    unlabelled = [f"{label} ({problem})" for label, c in _each_container(stack)
                  if (problem := selinux_problem(c.attrs, _security_options(c)))]
    assert not unlabelled, f"without a confining SELinux label: {', '.join(unlabelled)}"


@control("RUNTIME-016", severity="high", reference="CIS Docker 1.6.0 5.7")
def test_no_container_runs_an_ssh_daemon(stack, observed):
    """No container runs an SSH daemon (sshd, dropbear).

    Rationale: operators enter a container with `docker exec`; an sshd inside is one more
    service with credentials to manage and patch. Judged from the engine's process list
    (`docker top`), so it needs no `ps` in the image, unlike docker-bench-security's exec.
    """
    found, looked = [], 0
    for label, container in _each_container(stack):
        if container.status != "running":
            continue
        looked += 1
        top = container.top(ps_args="-o pid,comm,args")
        comm, args = top["Titles"].index("COMMAND"), len(top["Titles"]) - 1
        for process in top["Processes"]:
            program = process[args].split()[0].rsplit("/", 1)[-1] if process[args].split() else ""
            if {process[comm], program} & SSH_DAEMONS:
                found.append(f"{label}: {process[args]}")
    observed(f"process lists of {looked} running containers read")
    assert looked, "no container is running: no process list to judge"
    assert not found, f"SSH daemons running: {', '.join(found)}"


@control("RUNTIME-017", severity="medium", reference="CIS Docker 1.6.0 5.8")
def test_no_privileged_host_port_is_mapped(stack):
    """No container maps a privileged host port (below 1024), on IPv4 or IPv6.

    Rationale: docker-bench-security's 5.8 reads `docker port` with `cut -d: -f2`, which
    finds no port at all in an IPv6 binding ([::]:80); this reads the bindings themselves,
    as declared and as bound.
    """
    mapped = set()
    for label, container in _each_container(stack):
        declared = container.attrs["HostConfig"].get("PortBindings") or {}
        bound = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
        for target, bindings in [*declared.items(), *bound.items()]:
            for binding in bindings or []:
                host_port = str(binding.get("HostPort") or "").split("-")[0]
                if host_port.isdigit() and int(host_port) in PRIVILEGED_PORTS:
                    mapped.add(f"{label} {binding.get('HostIp') or '(all interfaces)'}:{host_port}->{target}")
    assert not mapped, f"privileged host ports mapped: {', '.join(sorted(mapped))}"


@control("RUNTIME-018", severity="high", reference="CIS Docker 1.6.0 5.18")
def test_no_host_device_is_exposed(stack):
    """No container is given a host device, a device cgroup rule or a device request (GPUs).

    Rationale: docker-bench-security only reports --device, as information; a cgroup rule
    such as `c *:* rwm` opens every character device just the same.
    """
    exposed = []
    for label, container in _each_container(stack):
        host = container.attrs["HostConfig"]
        exposed += [f"{label}: device {d.get('PathOnHost')}" for d in host.get("Devices") or []]
        exposed += [f"{label}: cgroup rule {rule}" for rule in host.get("DeviceCgroupRules") or []]
        exposed += [f"{label}: device request {r.get('Driver') or r.get('Capabilities')}" for r in host.get("DeviceRequests") or []]
    assert not exposed, f"host devices exposed: {', '.join(exposed)}"


@control("RUNTIME-019", severity="high", reference="CIS Docker 1.6.0 5.20")
def test_no_mount_propagates_shared(stack):
    """No container mount has shared (or rshared) propagation.

    Rationale: a shared mount lets mounts made inside the container appear on the host, and
    the host's inside the container.
    """
    shared = [f"{label}: {m.get('Destination')} ({m.get('Propagation')})" for label, c in _each_container(stack)
              for m in c.attrs.get("Mounts") or [] if m.get("Propagation") in SHARED_PROPAGATION]
    assert not shared, f"shared mount propagation: {', '.join(shared)}"


@control("RUNTIME-020", severity="high", reference="CIS Docker 1.6.0 5.22")
def test_seccomp_confines_every_container(stack, engine_facts):
    """The engine applies seccomp and no container runs with it off (seccomp=unconfined, privileged).

    Rationale: docker-bench-security looks for seccomp=unconfined only; on an engine built
    without seccomp every container is unconfined and it passes them all.
    """
    problems = [] if "seccomp" in engine_facts.engine_options else ["the engine applies no seccomp profile at all"]
    for label, container in _each_container(stack):
        if "seccomp=unconfined" in _security_options(container):
            problems.append(f"{label} (seccomp=unconfined)")
        elif container.attrs["HostConfig"].get("Privileged"):
            problems.append(f"{label} (privileged: seccomp off)")
    assert not problems, f"without seccomp: {', '.join(problems)}"


@control("RUNTIME-021", severity="medium", reference="CIS Docker 1.6.0 5.25")
def test_no_container_sets_a_cgroup_parent(stack):
    """No container runs under a cgroup parent of its own choosing (--cgroup-parent).

    Rationale: the engine puts each container under its own cgroup hierarchy; a chosen
    parent moves it beside, or above, what the host's limits were written for.
    """
    placed = [f"{label} ({c.attrs['HostConfig']['CgroupParent']})" for label, c in _each_container(stack)
              if c.attrs["HostConfig"].get("CgroupParent")]
    assert not placed, f"cgroup parent set: {', '.join(placed)}"


@control("RUNTIME-022", severity="high", reference="CIS Docker 1.6.0 5.30")
def test_no_container_uses_the_default_bridge(stack, engine_facts):
    """No container joins the engine's default bridge (docker0); every one is on the stack's own networks.

    Rationale: every container on the default bridge can reach every other one there, the
    stack's or not. Judged by the engine's own default-bridge flag, so a daemon that names
    its bridge otherwise (--bridge) is caught too; docker-bench-security matches docker0.
    """
    bridged = [label for label, c in _each_container(stack) if engine_facts.on_default_bridge(c.attrs)]
    assert not bridged, f"on the default bridge: {', '.join(bridged)}"


@control("RUNTIME-023", severity="critical", reference="seed 002 §Secret Management; seed 000 §Best Practices 4")
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
