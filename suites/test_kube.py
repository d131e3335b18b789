"""Kube: the platform's Kubernetes manifests judged before they deploy, with no cluster.

Run with `--target manifests --manifests DIR`. Every object has passed the Kubernetes
schemas before these controls run (bad input otherwise); what they judge is what seed 004
asks of a deployment and what the platform's isolation needs, workload by workload, in
role terms (fixtures/kube/expectations.py). A control names each object it finds wrong by
its ref (`_where`, `Workload.ref`, `K8sObject.ref`): that is how the reports locate the
finding at the object's file and line (fixtures/kube/plugin.py).
"""

import math

from fixtures.applicability import not_applicable
from fixtures.controls import control
from fixtures.kube.expectations import (
    CONFINING_SECCOMP,
    EMPTY_PASSWORD_SWITCHES,
    HTTP_HEALTH_ROLES,
    MAX_SURGE,
    MAX_UNAVAILABLE,
    MIN_REPLICAS,
    OFF_VALUES,
    REPLICATED_ROLES,
    REVISION_HISTORY_LIMIT,
    ROOT_EQUIVALENT_HOST_PATHS,
    SECRET_FLAGS,
    SECRET_NAME,
    URL_WITH_PASSWORD,
    WRITABLE_ROOT_ANNOTATION,
    acl_password_words,
    is_switch,
)
from fixtures.kube.network_policies import selector_matches

PROBES = ("livenessProbe", "readinessProbe")
# Kubernetes' defaults for a probe's timing fields.
PROBE_TIMING = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1, "failureThreshold": 3,
                "successThreshold": 1}
# Kubernetes' maxUnavailable and maxSurge when a Deployment does not say.
DEFAULT_ROLLOUT_PERCENT = "25%"
# The one capability the restricted Pod Security Standard lets a container add back.
ALLOWED_CAPABILITIES = {"NET_BIND_SERVICE"}


def _containers(manifests, *, init=True, long_running_only=False):
    """(workload, container) for every container the manifests run."""
    for workload in manifests.workloads:
        if long_running_only and not workload.long_running:
            continue
        for container in workload.all_containers if init else workload.containers:
            yield workload, container


def _where(workload, container) -> str:
    return f"{workload.ref} container {container.get('name', '?')}"


def _replicated(manifests):
    workloads = [w for w in manifests.with_role(*REPLICATED_ROLES) if w.long_running]
    if not workloads:
        not_applicable(f"the manifests have no {' or '.join(REPLICATED_ROLES)} workload")
    return workloads


def _scaled(value, replicas: int, round_up: bool) -> int:
    """An int-or-percent field (maxSurge, minAvailable ...) resolved against a replica count."""
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * replicas / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


def _is_literal(value: str) -> bool:
    """Written into the manifest, not a $(VAR) Kubernetes expands from the container's environment."""
    return bool(value) and "$(" not in value


def _autoscaler(workload, manifests) -> dict | None:
    """The spec of the HorizontalPodAutoscaler that drives the workload, or None."""
    for hpa in manifests.of_kind("HorizontalPodAutoscaler"):
        target = (hpa.doc.get("spec") or {}).get("scaleTargetRef") or {}
        if hpa.namespace == workload.namespace and target.get("kind") == workload.kind \
                and target.get("name") == workload.name:
            return hpa.doc.get("spec") or {}
    return None


def _minimum_replicas(workload, manifests) -> int | None:
    """Its declared replicas, or the minimum of a HorizontalPodAutoscaler that drives it."""
    hpa = _autoscaler(workload, manifests)
    return int(hpa.get("minReplicas") or 1) if hpa is not None else workload.replicas


def _largest_replicas(workload, manifests) -> int:
    """The most pods a rollout percentage must hold for: a HorizontalPodAutoscaler's maximum, else the
    declared replicas, and never fewer than MIN_REPLICAS (a percentage is written to scale)."""
    hpa = _autoscaler(workload, manifests)
    largest = int(hpa.get("maxReplicas") or 1) if hpa is not None else (workload.replicas or 1)
    return max(largest, MIN_REPLICAS)


@control("KUBE-001", severity="high", reference="seed 004 §Kubernetes Health Checks",
         needs=("target:manifests",))
def test_every_container_has_liveness_and_readiness_probes(manifests, observed):
    """Every long-running container declares a liveness and a readiness probe.

    Rationale: seed 004 gives its API both probes: without readiness a starting or failing pod
    takes traffic from the load balancer, without liveness a hung one is never restarted.
    Jobs and CronJobs run to completion and are not judged. See also: kube-score `pod-probes`;
    Polaris `livenessProbeMissing`, `readinessProbeMissing`; Kubescape C-0056 (Configured
    liveness probe), C-0018 (Configured readiness probe).
    """
    missing, judged = [], 0
    for workload, container in _containers(manifests, init=False, long_running_only=True):
        judged += 1
        missing += [f"{_where(workload, container)} has no {probe}" for probe in PROBES if not container.get(probe)]
    observed(f"{judged} containers judged")
    assert not missing, "; ".join(missing)


@control("KUBE-002", severity="medium", reference="seed 004 §Kubernetes Health Checks; seed 004 §Application Health",
         needs=("target:manifests",))
def test_gateway_probes_are_http_gets_of_the_health_path(manifests, observed, kube_health_path):
    """The gateway's probes are HTTP GETs of its health path, /health or beneath it.

    Rationale: seed 004's /health checks the database and Redis, and its Deployment probes
    that path; a probe of another path (or a bare TCP check) says the port is open while the
    gateway cannot serve an order. A path beneath it (/health/live) lets liveness ask about
    the process alone, so a database outage takes replicas out of rotation instead of
    restarting them all. A missing probe is KUBE-001's finding. A platform with another
    contract names its path in the description (`--platform`, `app.health_path`). See also:
    none of kube-score, Polaris or Kubescape looks at what a probe asks.
    """
    workloads = [w for w in manifests.with_role(*HTTP_HEALTH_ROLES) if w.long_running]
    if not workloads:
        not_applicable(f"the manifests have no {' or '.join(HTTP_HEALTH_ROLES)} workload")
    wrong = []
    for workload in workloads:
        for container in workload.containers:
            for probe in PROBES:
                if not container.get(probe):
                    continue
                path = (container[probe].get("httpGet") or {}).get("path")
                if path is None:
                    wrong.append(f"{_where(workload, container)} {probe} is not an HTTP GET")
                elif path != kube_health_path and not path.startswith(f"{kube_health_path.rstrip('/')}/"):
                    wrong.append(f"{_where(workload, container)} {probe} asks {path}, not {kube_health_path}")
    observed(f"{', '.join(w.ref for w in workloads)} judged")
    assert not wrong, "; ".join(wrong)


@control("KUBE-003", severity="medium", reference="seed 004 §Kubernetes Health Checks",
         needs=("target:manifests",))
def test_liveness_and_readiness_differ_in_timing(manifests):
    """Liveness and readiness probes are not identical in timing, and liveness is the more patient.

    Rationale: seed 004 probes readiness every 5 s after 5 s and liveness every 10 s after 30 s.
    Identical probes fail together, so a slow pod is restarted at the moment it would only
    have left the rotation; a liveness probe that gives up sooner (periodSeconds ×
    failureThreshold) than readiness restarts pods under load instead of shedding it. See also:
    kube-score `pod-probes` (flags identical probes); no Polaris or Kubescape check compares them.
    """
    wrong = []
    for workload, container in _containers(manifests, init=False, long_running_only=True):
        liveness, readiness = container.get("livenessProbe"), container.get("readinessProbe")
        if not (liveness and readiness):
            continue
        timing = [{k: p.get(k, default) for k, default in PROBE_TIMING.items()} for p in (liveness, readiness)]
        if timing[0] == timing[1]:
            wrong.append(f"{_where(workload, container)}: liveness and readiness share their timing {timing[0]}")
            continue
        windows = [t["periodSeconds"] * t["failureThreshold"] for t in timing]
        if windows[0] < windows[1]:
            wrong.append(f"{_where(workload, container)}: liveness gives up after {windows[0]} s, before "
                         f"readiness ({windows[1]} s)")
    assert not wrong, "; ".join(wrong)


@control("KUBE-004", severity="high", reference="seed 004 §Automatic Rollback",
         needs=("target:manifests",))
def test_deployments_roll_out_one_pod_at_a_time(manifests, observed):
    """Every Deployment rolls out with maxUnavailable ≤ 1 and maxSurge ≤ 1 at the most replicas it may run.

    Rationale: seed 004 rolls out with `maxUnavailable: 1` and `maxSurge: 1`: capacity never
    drops by more than one pod and a bad image reaches one pod before the rollout stalls on
    its readiness. Recreate stops every pod first. A percentage grows with the replica count,
    so it is resolved as Kubernetes does (surge up, unavailable down) at the most replicas the
    Deployment may run: a HorizontalPodAutoscaler's maxReplicas, else the declared replicas,
    and never fewer than 2 (`maxUnavailable: 100%` on one replica lets every pod go once it is
    scaled). An undeclared number is Kubernetes' default, 25%, judged the same way: it passes
    up to 4 replicas. See also: kube-score `deployment-strategy` checks the type only; no
    linter checks the numbers.
    """
    wrong, judged = [], []
    for workload in manifests.workloads:
        if workload.kind != "Deployment":
            continue
        judged.append(workload.ref)
        strategy = workload.spec.get("strategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            wrong.append(f"{workload.ref} uses the {strategy['type']} strategy")
            continue
        rolling = strategy.get("rollingUpdate") or {}
        replicas = _largest_replicas(workload, manifests)
        for field, limit, round_up in (("maxUnavailable", MAX_UNAVAILABLE, False), ("maxSurge", MAX_SURGE, True)):
            value = rolling.get(field, DEFAULT_ROLLOUT_PERCENT)
            pods = _scaled(value, replicas, round_up)
            if pods <= limit:
                continue
            said = f"{field} is {value}" if field in rolling else f"does not declare {field} (Kubernetes' default, {value})"
            wrong.append(f"{workload.ref} {said}: {pods} pods at {replicas} replicas (at most {limit})")
    if not judged:
        not_applicable("the manifests have no Deployment")
    observed(f"{', '.join(judged)} judged")
    assert not wrong, "; ".join(wrong)


@control("KUBE-005", severity="medium", reference="seed 004 §Automatic Rollback; seed 004 §Manual Rollback",
         needs=("target:manifests",))
def test_revision_history_keeps_the_rollback_targets(manifests):
    """Every Deployment and StatefulSet keeps at least 10 revisions to roll back to.

    Rationale: seed 004 sets `revisionHistoryLimit: 10` and rolls back with `kubectl rollout
    undo --to-revision`; a revision the controller has pruned cannot be rolled back to, and 0
    leaves no rollback at all. Kubernetes' default is 10, so an unset limit passes. See also:
    no kube-score, Polaris or Kubescape check.
    """
    wrong = []
    for workload in manifests.workloads:
        if workload.kind not in ("Deployment", "StatefulSet"):
            continue
        limit = workload.spec.get("revisionHistoryLimit", REVISION_HISTORY_LIMIT)
        if int(limit) < REVISION_HISTORY_LIMIT:
            wrong.append(f"{workload.ref} revisionHistoryLimit is {limit}")
    assert not wrong, f"fewer than {REVISION_HISTORY_LIMIT} revisions kept: {'; '.join(wrong)}"


@control("KUBE-006", severity="high", reference="seed 004 §Deployment Architecture",
         needs=("target:manifests",))
def test_gateway_and_workers_run_several_replicas(manifests, observed):
    """The gateway and the workers run at least 2 replicas each.

    Rationale: seed 004 runs three app instances behind its load balancer; with one replica a
    rollout, a node drain or a crash is an outage. A HorizontalPodAutoscaler's minReplicas
    counts when one drives the workload. See also: kube-score `deployment-replicas`; Polaris
    `deploymentMissingReplicas`.
    """
    wrong, counts = [], []
    for workload in _replicated(manifests):
        replicas = _minimum_replicas(workload, manifests)
        counts.append(f"{workload.ref}: {replicas}")
        if replicas is not None and replicas < MIN_REPLICAS:
            wrong.append(f"{workload.ref} ({workload.role}) runs {replicas} replica(s)")
    observed(", ".join(counts))
    assert not wrong, f"fewer than {MIN_REPLICAS} replicas: {'; '.join(wrong)}"


@control("KUBE-007", severity="medium", reference="seed 004 §Deployment Architecture; seed 004 §Rollback Strategy",
         needs=("target:manifests",))
def test_gateway_and_workers_have_a_disruption_budget(manifests):
    """A PodDisruptionBudget covers the gateway and the workers, letting a drain take one pod and keeping one.

    Rationale: replicas only help if a node drain cannot evict them all at once; a budget that
    allows no disruption (minAvailable equal to the replicas, maxUnavailable 0) blocks every
    drain and cluster upgrade instead. See also: kube-score `deployment-has-poddisruptionbudget`;
    Polaris `missingPodDisruptionBudget`, `pdbDisruptionsIsZero`.
    """
    wrong = []
    for workload in _replicated(manifests):
        # A budget without a selector selects no pod (policy/v1).
        budgets = [p for p in manifests.of_kind("PodDisruptionBudget") if p.namespace == workload.namespace
                   and (p.doc.get("spec") or {}).get("selector") is not None
                   and selector_matches(p.doc["spec"]["selector"], workload.pod_labels)]
        if not budgets:
            wrong.append(f"{workload.ref} ({workload.role}) has no PodDisruptionBudget")
            continue
        replicas = _minimum_replicas(workload, manifests) or 1
        if replicas < MIN_REPLICAS:
            continue  # one pod cannot be both evicted and kept: KUBE-006's finding
        for budget in budgets:
            spec = budget.doc.get("spec") or {}
            if "maxUnavailable" in spec:
                allowed = _scaled(spec["maxUnavailable"], replicas, round_up=True)
            else:
                allowed = replicas - _scaled(spec.get("minAvailable", 1), replicas, round_up=True)
            if allowed < 1:
                wrong.append(f"{budget.ref} lets no {workload.ref} pod be evicted: drains block")
            elif allowed >= replicas:
                wrong.append(f"{budget.ref} lets every {workload.ref} pod be evicted at once")
    assert not wrong, "; ".join(wrong)


@control("KUBE-008", severity="medium", reference="seed 001 §Resource Limits; seed 004 §Key Metrics",
         needs=("target:manifests",))
def test_every_container_has_requests_and_limits(manifests):
    """Every container declares CPU and memory requests and limits.

    Rationale: without requests the scheduler packs pods onto a node blind and evicts them
    first; without limits one runaway container starves its node (seed 001's limits, seed 004's
    resource-usage alerts). Init containers count. See also: kube-score `container-resources`;
    Polaris `cpuRequestsMissing`, `cpuLimitsMissing`, `memoryRequestsMissing`,
    `memoryLimitsMissing`; Kubescape C-0004 (Resources memory limit and request), C-0050
    (Resources CPU limit and request).
    """
    missing = []
    for workload, container in _containers(manifests):
        resources = container.get("resources") or {}
        gaps = [f"{kind}.{resource}" for kind in ("requests", "limits") for resource in ("cpu", "memory")
                if not (resources.get(kind) or {}).get(resource)]
        if gaps:
            missing.append(f"{_where(workload, container)}: {', '.join(gaps)}")
    assert not missing, f"resources missing: {'; '.join(missing)}"


def _security(workload, container, field):
    """A securityContext field as it takes effect: the container's own, else the pod's."""
    own = (container.get("securityContext") or {}).get(field)
    return own if own is not None else (workload.pod_spec.get("securityContext") or {}).get(field)


@control("KUBE-009", severity="high", reference="seed 004 §Security Considerations (Container Security)",
         needs=("target:manifests",))
def test_every_container_runs_as_non_root(manifests):
    """Every container runs as a non-root user: runAsNonRoot, or a non-zero runAsUser, and never user 0.

    Rationale: a container that may run as root turns any escape or writable mount into root
    on the node; `runAsNonRoot` makes the kubelet refuse to start an image whose user is root.
    See also: kube-score `container-security-context-user-group-id`; Polaris `runAsRootAllowed`;
    Kubescape C-0013 (Non-root containers).
    """
    wrong = []
    for workload, container in _containers(manifests):
        user, non_root = _security(workload, container, "runAsUser"), _security(workload, container, "runAsNonRoot")
        if user == 0:
            wrong.append(f"{_where(workload, container)} runs as user 0")
        elif non_root is not True and not user:
            wrong.append(f"{_where(workload, container)} sets neither runAsNonRoot nor a runAsUser")
    assert not wrong, "; ".join(wrong)


@control("KUBE-010", severity="high", reference="seed 004 §Security Considerations (Container Security)",
         needs=("target:manifests",))
def test_no_container_can_gain_privileges(manifests):
    """Every container sets allowPrivilegeEscalation: false and none is privileged.

    Rationale: Kubernetes allows privilege escalation unless told otherwise, so a setuid binary
    in the image can gain what the user lacks; a privileged container is root on the node.
    See also: kube-score `container-security-context-privileged`; Polaris
    `privilegeEscalationAllowed`, `runAsPrivileged`; Kubescape C-0016 (Allow privilege
    escalation), C-0057 (Privileged container).
    """
    wrong = []
    for workload, container in _containers(manifests):
        context = container.get("securityContext") or {}
        if context.get("privileged") is True:
            wrong.append(f"{_where(workload, container)} is privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            wrong.append(f"{_where(workload, container)} does not set allowPrivilegeEscalation: false")
    assert not wrong, "; ".join(wrong)


@control("KUBE-011", severity="medium", reference="seed 004 §Security Considerations (Container Security)",
         needs=("target:manifests",))
def test_every_container_drops_all_capabilities(manifests):
    """Every container drops ALL capabilities and adds back none beyond NET_BIND_SERVICE.

    Rationale: the platform's processes run as their service users and need no capability
    (the compose platform runs with `cap_drop: [ALL]`); the restricted Pod Security Standard
    allows NET_BIND_SERVICE alone. See also: Polaris `dangerousCapabilities`,
    `insecureCapabilities`; Kubescape C-0046 (Insecure capabilities).
    """
    wrong = []
    for workload, container in _containers(manifests):
        capabilities = (container.get("securityContext") or {}).get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            wrong.append(f"{_where(workload, container)} does not drop ALL")
        added = set(capabilities.get("add") or []) - ALLOWED_CAPABILITIES
        if added:
            wrong.append(f"{_where(workload, container)} adds {', '.join(sorted(added))}")
    assert not wrong, "; ".join(wrong)


@control("KUBE-012", severity="medium", reference="seed 004 §Security Considerations (Container Security)",
         needs=("target:manifests",))
def test_every_container_has_a_read_only_root_filesystem(manifests, observed):
    """Every container has a read-only root filesystem, unless its pod declares why it cannot.

    Rationale: a container that writes only to its volumes (emptyDirs for /tmp, its data on a
    volume claim) lets an attacker with code execution plant no binary and change no
    configuration; the reference manifests do it for all six services, data services included.
    Where an image must write beside its installation, the pod template (or its workload) says
    why in the annotation `conformance/writable-root-filesystem: <reason>`; its containers are
    named with the reason instead of failing. See also: kube-score
    `container-security-context-readonlyrootfilesystem`; Polaris `notReadOnlyRootFilesystem`;
    Kubescape C-0017 (Immutable container filesystem); Checkov CKV_K8S_22.
    """
    writable, declared, judged = [], [], 0
    for workload in manifests.workloads:
        annotations = {**((workload.obj.doc.get("metadata") or {}).get("annotations") or {}),
                       **((workload.template.get("metadata") or {}).get("annotations") or {})}
        reason = str(annotations.get(WRITABLE_ROOT_ANNOTATION) or "").strip()
        if reason:
            declared.append(f"{workload.ref} ({reason})")
            continue
        for container in workload.all_containers:
            judged += 1
            if (container.get("securityContext") or {}).get("readOnlyRootFilesystem") is not True:
                writable.append(_where(workload, container))
    if declared and not judged:
        not_applicable(f"every pod declares a writable root filesystem: {'; '.join(declared)}")
    observed(f"{judged} containers judged" + (f"; writable by declaration: {'; '.join(declared)}" if declared else ""))
    assert not writable, f"writable root filesystem: {'; '.join(writable)}"


def _env_literals(workload, container) -> list[str]:
    found = []
    for variable in container.get("env") or []:
        name, value = str(variable.get("name", "")), variable.get("value")
        config_map = (variable.get("valueFrom") or {}).get("configMapKeyRef")
        if name in EMPTY_PASSWORD_SWITCHES and value is not None and str(value).strip().lower() not in OFF_VALUES:
            found.append(f"{_where(workload, container)}: env {name}={value} gives {EMPTY_PASSWORD_SWITCHES[name]} "
                         f"an empty password")
            continue
        secret_named = SECRET_NAME.search(name) and not is_switch(name, value)
        if secret_named and value is not None and _is_literal(str(value)):
            found.append(f"{_where(workload, container)}: env {name} is a literal")
        elif secret_named and config_map:
            found.append(f"{_where(workload, container)}: env {name} comes from ConfigMap {config_map.get('name')}")
        elif value is not None and (password := URL_WITH_PASSWORD.search(str(value))) and _is_literal(password.group(1)):
            found.append(f"{_where(workload, container)}: env {name} embeds a password in its URL")
    words = [str(part) for part in (container.get("command") or []) + (container.get("args") or [])]
    for flag, value in zip(words, words[1:]):
        if flag in SECRET_FLAGS and _is_literal(value):
            found.append(f"{_where(workload, container)}: command {flag}")
    # Redis ACL rules: ">password" gives a user a password.
    found += [f"{_where(workload, container)}: command ACL password" for password in acl_password_words(words)
              if _is_literal(password)]
    return found


@control("KUBE-013", severity="critical", reference="seed 004 §Secrets Management; seed 004 §Configuration Management",
         needs=("target:manifests",))
def test_no_secret_is_written_into_the_manifests(manifests):
    """No secret is written into the manifests: env, args, ConfigMaps and Secret objects carry none.

    Rationale: seed 004 creates its Secrets with `kubectl create secret`; the manifests only
    reference them (`secretKeyRef`, `$(VAR)` expansion). A password in an env value, a command
    flag, a ConfigMap or a Secret object's data is in the repository, readable by everyone who
    can read it. A secret-sounding switch (`ARGOCD_SERVER_DISABLE_AUTH`, a boolean value) holds
    no secret; one that empties a password (`MYSQL_ALLOW_EMPTY_PASSWORD: "1"`) writes the
    password itself, empty, and is named as such. See also: Polaris `sensitiveContainerEnvVar`, `sensitiveConfigmapContent`;
    Kubescape C-0012 (Applications credentials in configuration files).
    """
    found = []
    for workload, container in _containers(manifests):
        found += _env_literals(workload, container)
    for config_map in manifests.of_kind("ConfigMap"):
        for key, value in ((config_map.doc.get("data") or {}) | (config_map.doc.get("binaryData") or {})).items():
            if SECRET_NAME.search(key) and value and not is_switch(key, value):
                found.append(f"{config_map.ref}: key {key}")
            elif (password := URL_WITH_PASSWORD.search(str(value))) and _is_literal(password.group(1)):
                found.append(f"{config_map.ref}: key {key} embeds a password in a URL")
    for secret in manifests.of_kind("Secret"):
        keys = sorted({*(secret.doc.get("data") or {}), *(secret.doc.get("stringData") or {})})
        if keys:
            found.append(f"{secret.ref} carries its values ({', '.join(keys)}) in the manifests")
    assert not found, f"secrets in the manifests: {'; '.join(found)}"


@control("KUBE-014", severity="medium", reference="seed 004 §Rollback Strategy; seed 002 §Production Deployment Checklist",
         needs=("target:manifests",))
def test_every_image_is_pinned(manifests):
    """Every container image names an explicit tag other than latest, or a digest.

    Rationale: seed 004's own Deployment runs `empacts/api:latest`; with a floating tag a
    rollback (`rollout undo`) restores the template but not the image that ran, and two
    replicas can run different code. See also: kube-score `container-image-tag`; Polaris
    `tagNotSpecified`; Kubescape C-0075 (Image pull policy on latest tag).
    """
    floating = []
    for workload, container in _containers(manifests):
        image = str(container.get("image") or "")
        if "@sha256:" in image:
            continue
        last = image.rsplit("/", 1)[-1]
        tag = last.split(":", 1)[1] if ":" in last else ""
        if not tag or tag == "latest":
            floating.append(f"{_where(workload, container)} ({image or 'no image'})")
    assert not floating, f"images not pinned: {'; '.join(floating)}"


@control("KUBE-015", severity="critical", reference="seed 004 §Security Considerations (Network Security); seed 001 §Network Isolation",
         needs=("target:manifests",))
def test_network_policies_admit_only_each_data_services_clients(kube_reachability, observed):
    """The NetworkPolicies let each data service be reached by its clients only.

    Rationale: the NET chapter's matrix, computed from the NetworkPolicy objects offline: the
    event store admits the gateway and the workers, the cache the gateway, the broker the
    gateway and the workers; nothing else in the manifests, and nothing from another namespace
    or outside the cluster, reaches any of their ports, and each client reaches at least one.
    A data service no policy isolates is open to everyone. A workload with no role is not
    judged as a client or an intruder (the description does not say which it is): it is named
    in the observation, to be given a role (--platform, a label). See also: kube-score
    `pod-networkpolicy`, Polaris `missingNetworkPolicy` and Kubescape C-0260 (Missing network
    policy) check that some policy exists, not what it allows.
    """
    if not kube_reachability.data:
        not_applicable("the manifests have no data service (event_store, cache, broker)")
    violations = kube_reachability.violations()
    unjudged = kube_reachability.unjudged
    observed(f"{len(kube_reachability.sources) - len(unjudged)} sources × {len(kube_reachability.data)} data services "
             f"judged" + (f"; no role, not judged: {', '.join(unjudged)}" if unjudged else ""))
    assert not violations, "; ".join(violations)


def _root_equivalent(path: str, writable: bool) -> bool:
    """A host path that is, holds, or (written to) lies beneath one the node's root hides behind."""
    path = path.rstrip("/") or "/"
    return any(path == sensitive or sensitive.startswith(f"{path.rstrip('/')}/")
               or (writable and sensitive != "/" and path.startswith(f"{sensitive}/"))
               for sensitive in ROOT_EQUIVALENT_HOST_PATHS)


def _host_access(workload) -> list[str]:
    found = [f"{workload.ref} sets {field}" for field in ("hostNetwork", "hostPID", "hostIPC")
             if workload.pod_spec.get(field) is True]
    found += [f"{_where(workload, container)} binds host port {port['hostPort']}"
              for container in workload.all_containers for port in container.get("ports") or []
              if port.get("hostPort")]
    for volume in workload.pod_spec.get("volumes") or []:
        path = (volume.get("hostPath") or {}).get("path")
        mounts = [m for c in workload.all_containers for m in c.get("volumeMounts") or [] if m.get("name") == volume.get("name")]
        if path and mounts and _root_equivalent(str(path), writable=any(not m.get("readOnly") for m in mounts)):
            found.append(f"{workload.ref} mounts host path {path} (volume {volume.get('name')})")
    return found


@control("KUBE-016", severity="critical",
         reference="CIS Kubernetes 1.8 5.2.3, 5.2.4, 5.2.5, 5.2.12, 5.2.13; Pod Security Standards (baseline)",
         needs=("target:manifests",))
def test_no_pod_shares_the_nodes_namespaces_ports_or_system_paths(manifests, observed):
    """No pod shares the node's network, PID or IPC namespace, binds a host port, or mounts a root-equivalent host path.

    Rationale: each hands a compromised container the node. hostNetwork gives it the node's
    interfaces and takes it out of every NetworkPolicy; hostPID the node's processes (and their
    /proc/PID/root); hostIPC its shared memory; a hostPort opens the node's address to the pod
    past its Service. A host path that is, holds or lies writable beneath the Docker or
    containerd socket, /, /etc, /proc, /var/lib/kubelet (every pod's secrets) is root on the
    node. The baseline Pod Security Standard refuses them all; the compose chapter judges the
    same (CONFIG-007, CONFIG-008). See also: Checkov CKV_K8S_17, CKV_K8S_18, CKV_K8S_19,
    CKV_K8S_26, CKV_K8S_27; Polaris `hostNetworkSet`, `hostPIDSet`, `hostIPCSet`,
    `hostPortSet`; Kubescape C-0038, C-0041, C-0044, C-0048, C-0074.
    """
    found = [line for workload in manifests.workloads for line in _host_access(workload)]
    observed(f"{len(manifests.workloads)} workloads judged")
    assert not found, f"host access: {'; '.join(found)}"


@control("KUBE-017", severity="medium", reference="CIS Kubernetes 1.8 5.7.2; Pod Security Standards (restricted)",
         needs=("target:manifests",))
def test_every_container_runs_under_a_seccomp_profile(manifests):
    """Every container runs under the RuntimeDefault seccomp profile (or a Localhost one), set on it or its pod.

    Rationale: Kubernetes runs a container Unconfined unless its pod or itself names a profile
    (the kubelet's `--seccomp-default` is off unless a cluster turns it on), so an exploited
    process may call every syscall of the node's kernel, the ones container escapes use
    included. RuntimeDefault is the container runtime's filter, which the compose platform
    runs under (CONFIG-013). See also: Checkov CKV_K8S_31; Kubescape C-0210; kube-score
    `container-seccomp-profile` (optional).
    """
    wrong = []
    for workload, container in _containers(manifests):
        profile = (_security(workload, container, "seccompProfile") or {}).get("type")
        if profile not in CONFINING_SECCOMP:
            wrong.append(f"{_where(workload, container)} " + (f"runs {profile}" if profile else "names no seccomp profile"))
    assert not wrong, f"seccomp not {' or '.join(CONFINING_SECCOMP)}: {'; '.join(wrong)}"


def _service_accounts_granted(manifests) -> set[tuple[str, str]]:
    """(namespace, name) of every ServiceAccount a RoleBinding or ClusterRoleBinding grants something."""
    granted = set()
    for binding in manifests.of_kind("RoleBinding", "ClusterRoleBinding"):
        for subject in binding.doc.get("subjects") or []:
            if subject.get("kind") == "ServiceAccount":
                granted.add((str(subject.get("namespace") or binding.namespace), str(subject.get("name"))))
    return granted


@control("KUBE-018", severity="medium", reference="CIS Kubernetes 1.8 5.1.6; seed 004 §Security Considerations (Access Control)",
         needs=("target:manifests",))
def test_pods_mount_an_api_token_only_where_a_role_grants_them_the_api(manifests, observed):
    """No pod mounts a service-account token unless a RoleBinding or ClusterRoleBinding grants its ServiceAccount the API.

    Rationale: Kubernetes mounts an API token into every pod unless the pod or its
    ServiceAccount sets `automountServiceAccountToken: false`; in a pod that never calls the
    API the token only serves whoever breaks in. A workload declares that it calls the API
    the way RBAC needs it to anyway: a binding of a Role or ClusterRole to its ServiceAccount
    in the manifests; then the token may be mounted (by default or `true`). Any other pod sets
    `false` on itself or its ServiceAccount. See also: Checkov CKV_K8S_38; Kubescape C-0034
    (Automatic mapping of service account).
    """
    accounts = {(a.namespace, a.name): a.doc for a in manifests.of_kind("ServiceAccount")}
    granted = _service_accounts_granted(manifests)
    wrong, calling = [], []
    for workload in manifests.workloads:
        account = str(workload.pod_spec.get("serviceAccountName") or "default")
        mounts = workload.pod_spec.get("automountServiceAccountToken")
        if mounts is None:
            mounts = (accounts.get((workload.namespace, account)) or {}).get("automountServiceAccountToken")
        if mounts is False:
            continue
        if (workload.namespace, account) in granted:
            calling.append(workload.ref)
            continue
        how = "sets automountServiceAccountToken: true" if mounts else "mounts its token by default"
        wrong.append(f"{workload.ref} {how}, and no binding grants ServiceAccount {account} the API")
    observed(f"{len(manifests.workloads)} workloads judged" + (f"; granted the API: {', '.join(calling)}" if calling else ""))
    assert not wrong, "; ".join(wrong)
