"""Reading manifests as kubectl does: the shapes public sets use, and unrendered input refused with its command.

The sets are tests/data/kube/shapes (judged) and tests/data/kube/unrendered (refused); the
whole runs on them, with their exit codes and located reports, are in tests/test_kube_reading.py.
"""

import shutil

import pytest

from fixtures.kube import reading, schema
from fixtures.kube.manifests import collect, load
from fixtures.kube.plugin import located
from tests.suite_runner import ROOT

DATA = ROOT / "tests" / "data" / "kube"
SHAPES = DATA / "shapes"
UNRENDERED = DATA / "unrendered"


def _where(manifests) -> dict[str, tuple[str, int]]:
    return {o.ref: (o.path, o.line) for o in manifests.objects}


def test_every_shape_kubectl_applies_is_read_with_its_file_and_line():
    manifests, problems = collect([SHAPES])
    assert problems == []
    lists = "tests/data/kube/shapes/monitoring-lists.yaml"
    assert _where(manifests) == {
        "Deployment/monitoring/api": ("tests/data/kube/shapes/api.json", 1),
        "CustomResourceDefinition/alertmanagerconfigs.monitoring.coreos.com": ("tests/data/kube/shapes/crd-matchers.yaml", 3),
        "ReplicationController/monitoring/frontend": ("tests/data/kube/shapes/legacy.yaml", 2),
        "PodTemplate/monitoring/batch-worker": ("tests/data/kube/shapes/legacy.yaml", 20),
        "Job/monitoring/migrate-": ("tests/data/kube/shapes/migrate-job.yaml", 2),
        "Namespace/monitoring": (lists, 2),
        # A typed list's items, each at its own line; an item without apiVersion and kind takes the list's.
        "ConfigMap/monitoring/grafana-dashboard-nodes": (lists, 10),
        "ConfigMap/monitoring/grafana-dashboard-pods": (lists, 17),
        "Role/monitoring/prometheus-k8s": (lists, 26),
        "RoleBinding/monitoring/prometheus-k8s": (lists, 39),
        "ServiceAccount/monitoring/prometheus-k8s": (lists, 56),
        "Service/monitoring/prometheus-k8s": (lists, 61),
    }
    assert manifests.notes == [("not read: 1 file(s) that are not *.yaml, *.yml or *.json, which kubectl does not "
                                "read either (tests/data/kube/shapes/README.md)")]
    assert schema.problems(manifests.objects) == ([], [])


def test_a_plain_equals_sign_and_a_date_are_strings_as_kubectl_reads_them():
    (_, doc, _), = reading.parse("enum: [ '!=', =, =~ ]\nsince: 2024-05-01\n")
    assert doc == {"enum": ["!=", "=", "=~"], "since": "2024-05-01"}
    crd = next(o for o in load([SHAPES]).objects if o.kind == "CustomResourceDefinition")
    version = crd.doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert version["properties"]["spec"]["properties"]["matchers"]["items"]["properties"]["matchType"]["enum"] == \
        ["!=", "=", "=~", "!~"]


def test_replication_controllers_and_pod_templates_are_workloads_and_generate_name_names_a_job():
    workloads = {w.ref: w for w in load([SHAPES]).workloads}
    assert sorted(workloads) == ["Deployment/monitoring/api", "Job/monitoring/migrate-", "PodTemplate/monitoring/batch-worker",
                                 "ReplicationController/monitoring/frontend"]
    assert workloads["ReplicationController/monitoring/frontend"].replicas == 2
    assert [c["image"] for c in workloads["PodTemplate/monitoring/batch-worker"].containers] == ["example/worker"]


def test_a_json_file_that_yaml_refuses_is_read_as_json(tmp_path):
    (tmp_path / "tabs.json").write_text('{\n\t"apiVersion": "v1",\n\t"kind": "ConfigMapList",\n\t"items": [\n'
                                        '\t\t{"metadata": {"name": "a"}, "data": {"k": "v"}}\n\t]\n}\n')
    assert [(o.ref, o.doc["apiVersion"]) for o in load([tmp_path]).objects] == [("ConfigMap/a", "v1")]


@pytest.mark.parametrize("path, expected", [
    ("chart", ("tests/data/kube/unrendered/chart is a Helm chart: render it first: helm template RELEASE "
               "tests/data/kube/unrendered/chart > rendered.yaml, then --manifests rendered.yaml")),
    ("chart/templates/deployment.yaml", ("tests/data/kube/unrendered/chart/templates/deployment.yaml line 4: a "
                                         "template, not a manifest (it holds {{ }} placeholders): render it first: "
                                         "helm template RELEASE tests/data/kube/unrendered/chart > rendered.yaml")),
    ("quoted-template.yaml", ("tests/data/kube/unrendered/quoted-template.yaml#1 line 3: "
                              "spec.template.spec.containers[0].image is "
                              "'{{ .Values.image.repository }}:{{ .Values.image.tag }}': a Helm template, not a "
                              "manifest: render it first: helm template RELEASE CHART > rendered.yaml")),
    ("no-objects", "no Kubernetes object in tests/data/kube/unrendered/no-objects: nothing to judge (--manifests)"),
], ids=["chart", "unquoted-template", "quoted-template", "no-objects"])
def test_unrendered_or_empty_input_is_refused_with_the_command_that_renders_it(path, expected):
    manifests, problems = collect([UNRENDERED / path])
    assert manifests.objects == [] and len(problems) == 1, problems
    assert problems[0].startswith(expected), problems


def test_go_templates_that_are_data_are_not_helm_placeholders(tmp_path):
    (tmp_path / "rules.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rules}\n"
        "data: {summary: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} restarts', "
        "slack: '{{ template \"slack.title\" . }}', argocd: '{{.app.metadata.name}} synced'}\n")
    assert [o.ref for o in load([tmp_path]).objects] == ["ConfigMap/rules"]


def test_a_kustomization_is_refused_without_kubectl(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without kubectl
    _, problems = collect([UNRENDERED / "kustomization"])
    assert problems == [("tests/data/kube/unrendered/kustomization is a kustomization: render it first: kubectl "
                         "kustomize tests/data/kube/unrendered/kustomization > rendered.yaml, then --manifests "
                         "rendered.yaml (or put kubectl on the PATH)")]


def test_a_kustomization_among_other_files_is_refused_even_with_kubectl():
    _, problems = collect([UNRENDERED])
    assert [p.split(":")[0] for p in problems] == [
        "tests/data/kube/unrendered/chart is a Helm chart", "tests/data/kube/unrendered/kustomization is a kustomization",
        "tests/data/kube/unrendered/quoted-template.yaml#1 line 3"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on this machine's PATH")
def test_a_kustomization_is_rendered_with_kubectl_and_said_so():
    manifests, problems = collect([UNRENDERED / "kustomization"])
    assert problems == []
    (deployment,) = manifests.objects
    assert deployment.ref == "Deployment/orders/orders"  # the kustomization's namespace
    assert deployment.doc["metadata"]["labels"] == {"app.kubernetes.io/part-of": "orders"}
    assert (deployment.path, deployment.line) == ("tests/data/kube/unrendered/kustomization/kustomization.yaml", 1)
    assert manifests.notes[0].startswith("tests/data/kube/unrendered/kustomization is a kustomization: rendered with "
                                         "`kubectl kustomize`")


def test_a_failure_is_located_at_each_object_its_message_names():
    manifests = load([SHAPES])
    message = ("resources missing: ReplicationController/monitoring/frontend container php-redis: limits.cpu; "
               "Job/monitoring/migrate- container migrate: requests.cpu; ReplicationController/monitoring/frontend "
               "container sidecar: limits.cpu; ConfigMap/monitoring/grafana-dashboard-pods: key a; Deployment/elsewhere"
               "\nassert not ['ReplicationController/monitoring/frontend ...']")
    assert located(manifests, message) == [
        {"ref": "ReplicationController/monitoring/frontend", "file": "tests/data/kube/shapes/legacy.yaml", "line": 2,
         "message": "resources missing: ReplicationController/monitoring/frontend container php-redis: limits.cpu; "
                    "ReplicationController/monitoring/frontend container sidecar: limits.cpu"},
        {"ref": "Job/monitoring/migrate-", "file": "tests/data/kube/shapes/migrate-job.yaml", "line": 2,
         "message": "Job/monitoring/migrate- container migrate: requests.cpu"},
        {"ref": "ConfigMap/monitoring/grafana-dashboard-pods", "file": "tests/data/kube/shapes/monitoring-lists.yaml",
         "line": 17, "message": "ConfigMap/monitoring/grafana-dashboard-pods: key a"},
    ]


def test_a_chart_with_subcharts_is_one_chart_to_render(tmp_path):
    for chart in (tmp_path / "shop", tmp_path / "shop" / "charts" / "redis"):
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {chart.name}\nversion: 0.1.0\n")
        (chart / "templates" / "service.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata:\n"
                                                          "  name: {{ .Release.Name }}\n")
    _, problems = collect([tmp_path])
    chart = tmp_path / "shop"
    command = f"helm template RELEASE {chart} > rendered.yaml, then --manifests rendered.yaml"
    assert problems == [f"{chart} is a Helm chart: render it first: {command}"]


def test_an_empty_directory_is_bad_input(tmp_path):
    manifests, problems = collect([tmp_path])
    assert manifests.objects == [] and problems == [f"no manifests (*.yaml, *.yml, *.json) in {tmp_path} (--manifests)"]
