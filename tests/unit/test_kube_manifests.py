"""Loading manifests: multi-document files, layering like strategic-merge patches, roles, bad input."""

import pytest

from fixtures.kube.manifests import InvalidManifests, load, merge

GATEWAY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api, app.kubernetes.io/component: gateway}}
    spec:
      containers:
        - name: api
          image: shop/api:1.2
          env: [{name: A, value: "1"}, {name: B, value: "2"}]
          livenessProbe: {httpGet: {path: /health, port: 80}}
        - name: sidecar
          image: shop/sidecar:1
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}, ports: [{port: 80}]}
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_directory_of_multi_document_files_loads_every_object(tmp_path):
    _write(tmp_path / "base", "api.yaml", GATEWAY)
    _write(tmp_path / "base", "nested/db.yml", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\n"
           "spec: {template: {spec: {containers: [{name: db, image: 'postgres:16'}]}}}\n---\n")
    manifests = load([tmp_path / "base"])
    assert sorted(o.ref for o in manifests.objects) == ["Deployment/shop/api", "Service/shop/api", "StatefulSet/db"]
    roles = {w.name: w.role for w in manifests.workloads}
    assert roles == {"api": "gateway", "db": "event_store"}  # the label, else the image


def test_a_later_path_is_merged_into_the_objects_it_names(tmp_path):
    base = _write(tmp_path, "base.yaml", GATEWAY)
    patch = _write(tmp_path, "patch.yaml", """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: api
          livenessProbe: null
          env: [{name: B, $patch: delete}, {name: C, value: "3"}]
        - name: sidecar
          $patch: delete
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
$patch: delete
---
apiVersion: v1
kind: ConfigMap
metadata: {name: added, namespace: shop}
""")
    manifests = load([base, patch])
    assert sorted(o.ref for o in manifests.objects) == ["ConfigMap/shop/added", "Deployment/shop/api"]
    (gateway,) = manifests.workloads
    assert gateway.replicas == 1
    assert [c["name"] for c in gateway.containers] == ["api"]
    api = gateway.containers[0]
    assert "livenessProbe" not in api and api["image"] == "shop/api:1.2"
    assert api["env"] == [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]


def test_merge_replaces_lists_of_unnamed_items_and_leaves_its_inputs_alone():
    base = {"ports": [{"port": 1}, {"port": 2}], "keep": {"a": 1}}
    merged = merge(base, {"ports": [{"port": 3}], "keep": {"b": 2}})
    assert merged == {"ports": [{"port": 3}], "keep": {"a": 1, "b": 2}}
    assert base == {"ports": [{"port": 1}, {"port": 2}], "keep": {"a": 1}}


def test_replicas_default_to_one_and_a_daemonset_has_no_count(tmp_path):
    path = _write(tmp_path, "w.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n---\n"
                  "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: ds}\nspec: {}\n")
    assert {w.name: w.replicas for w in load([path]).workloads} == {"d": 1, "ds": None}


def test_every_problem_is_named_with_its_file_and_document(tmp_path):
    _write(tmp_path / "bad", "a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\njust text\n")
    _write(tmp_path / "bad", "b.yaml", "key: [unclosed\n")
    with pytest.raises(InvalidManifests) as raised:
        load([tmp_path / "bad", tmp_path / "missing", tmp_path / "bad" / "none.txt"])
    problems = raised.value.problems
    assert any("a.yaml#2: ConfigMap/c is already defined in" in p for p in problems), problems
    assert any("a.yaml#3: not a Kubernetes object" in p for p in problems), problems
    assert any("b.yaml line 1: not valid YAML" in p or "b.yaml line 2: not valid YAML" in p for p in problems), problems
    assert any(p.endswith("missing not found (--manifests)") for p in problems), problems


def test_namespaces_carry_their_name_label(tmp_path):
    path = _write(tmp_path, "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: a}}\n")
    assert load([path]).namespace_labels == {"shop": {"team": "a", "kubernetes.io/metadata.name": "shop"}}
