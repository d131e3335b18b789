"""The KUBE chapter on manifest sets shaped like the ones it once judged wrong (tests/data/kube/).

Each set holds one shape: host access, a one-replica gateway behind a Service and an Ingress,
seed 004's snippets, secret-sounding switches, Redis HA's haproxy, rollout percentages with
an autoscaler. Judged in this process (tests/kube_chapter.py), as the mutants are; one whole
run proves the platform line and `--platform` naming workloads. benchmarks/checkov_kube.py
puts Checkov's verdicts on the same sets beside ours (docs/kubernetes.md).
"""

import pytest

from fixtures.kube.manifests import load
from tests.kube_chapter import judge
from tests.suite_runner import ROOT, run_suite

SETS = ROOT / "tests" / "data" / "kube"


def _judged(name: str):
    manifests = load([SETS / name])
    return {w.name: w.role for w in manifests.workloads}, judge(manifests)


def test_host_access_fails_kube_016_naming_each_way_in():
    _, results = _judged("host-access")
    status, message = results["KUBE-016"]
    assert status == "failed"
    for finding in ("node-agent sets hostNetwork", "node-agent sets hostPID", "node-agent sets hostIPC",
                    "binds host port 9100", "mounts host path /var/run/docker.sock", "mounts host path / ",
                    "log-reader mounts host path /var/lib/kubelet/pods"):
        assert finding in message, message
    assert "/var/log" not in message  # read-only, and no system path


@pytest.mark.parametrize("name, gateway", [("one-replica-gateway", "shop"), ("seed-004", "empacts-api")])
def test_a_one_replica_gateway_is_found_and_fails_replicas_and_budget(name, gateway):
    roles, results = _judged(name)
    assert roles == {gateway: "gateway"}
    assert results["KUBE-002"][0] == "passed"  # judged: its probes ask /health
    assert results["KUBE-006"][0] == "failed" and f"/{gateway} (gateway) runs 1 replica(s)" in results["KUBE-006"][1]
    assert results["KUBE-007"][0] == "failed" and "has no PodDisruptionBudget" in results["KUBE-007"][1]


def test_switches_are_not_secrets_and_an_empty_root_password_is_said():
    _, results = _judged("switches-not-secrets")
    status, message = results["KUBE-013"]
    assert status == "failed"
    assert message == ("secrets in the manifests: Deployment/argocd/legacy-db container mysql: env "
                       "MYSQL_ALLOW_EMPTY_PASSWORD=1 gives the MySQL root account an empty password")


def test_a_proxy_other_workloads_name_is_not_the_edge_and_roleless_clients_are_not_violators():
    roles, results = _judged("haproxy-not-edge")
    assert roles == {"redis-ha-server": "cache", "redis-ha-haproxy": None, "argocd-application-controller": None}
    assert results["KUBE-015"] == ("passed", "")


def test_rollout_percentages_are_judged_at_the_most_replicas_and_defaults_where_they_fit():
    _, results = _judged("rollout-percent-hpa")
    status, message = results["KUBE-004"]
    assert status == "failed"
    assert "autoscaled-api maxUnavailable is 100%: 5 pods at 5 replicas" in message
    assert "single-api maxUnavailable is 100%: 2 pods at 2 replicas" in message
    assert "defaults-api" not in message  # 25% of 3: one pod each way


def test_the_platform_line_shows_the_roles_and_the_description_names_workloads_and_health_path(tmp_path, reports_dir):
    platform = tmp_path / "platform.yml"
    platform.write_text("roles:\n  worker: {workloads: [StatefulSet/argocd/argocd-application-controller]}\n"
                        "  edge: [redis-ha-haproxy]\napp: {health_path: /healthz}\n")
    result = run_suite(reports_dir, "--target", "manifests", "--manifests", str(SETS / "haproxy-not-edge"),
                       "--manifests", str(SETS / "one-replica-gateway"), "--platform", str(platform),
                       "suites/test_kube.py", timeout_s=120)
    assert "platform (--platform" in result.output and "edge=redis-ha-haproxy (haproxy)" in result.output, \
        result.output[-3000:]
    assert "worker=argocd-application-controller" in result.output
    roles = result.report["stack"]["platform"]["roles"]
    assert roles["worker"]["services"] == ["argocd-application-controller"], roles
    # Declared, haproxy is the edge and reaches Redis: KUBE-015 judges it now.
    assert "redis-ha-haproxy (edge) reaches StatefulSet/argocd/redis-ha-server (cache)" in result.failing()["KUBE-015"]
    # The description's health path is the one the gateway (shop, behind its Ingress) is probed on.
    assert "shop container shop readinessProbe asks /health, not /healthz" in result.failing()["KUBE-002"]


def test_a_platform_naming_a_workload_the_manifests_lack_is_bad_input(tmp_path, reports_dir):
    platform = tmp_path / "platform.yml"
    platform.write_text("roles:\n  gateway: {workloads: [Deployment/api]}\n")
    result = run_suite(reports_dir, "--target", "manifests", "--manifests", "k8s", "--platform", str(platform),
                       timeout_s=120)
    assert result.returncode == 4, result.output[-2000:]
    assert "role gateway names workload Deployment/api, which the manifests do not define" in result.output
    assert "Traceback" not in result.output


def test_a_writable_root_filesystem_declared_with_a_reason_passes(tmp_path):
    patch = tmp_path / "postgres-writable-with-reason.yaml"
    patch.write_text((ROOT / "tests" / "mutants" / "kube" / "postgres-writable-root.yaml").read_text()
                     .replace("  template:\n", "  template:\n    metadata:\n      annotations:\n"
                              "        conformance/writable-root-filesystem: initdb writes beside the data directory\n"))
    broken = judge(load([ROOT / "k8s", ROOT / "tests" / "mutants" / "kube" / "postgres-writable-root.yaml"]))
    assert broken["KUBE-012"] == ("failed", ("writable root filesystem: StatefulSet/orders-platform/postgres "
                                             "container postgres"))
    assert judge(load([ROOT / "k8s", patch]))["KUBE-012"] == ("passed", "")
