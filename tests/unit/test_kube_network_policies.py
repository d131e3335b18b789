"""NetworkPolicy evaluation offline, by Kubernetes' rules: isolation, peers, ports, both ends."""

import yaml

from fixtures.kube.manifests import K8sObject, ManifestSet
from fixtures.kube.network_policies import OUTSIDE, DataReachability, Policies, Port, selector_matches


def _pod(name, role, ports=(5432,), namespace="shop"):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/component": role}},
            "spec": {"containers": [{"name": name, "image": "x:1",
                                     "ports": [{"containerPort": p, "name": f"p{p}"} for p in ports]}]}}


def _policy(name, text, namespace="shop"):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": yaml.safe_load(text)}


def _set(*docs) -> ManifestSet:
    return ManifestSet([K8sObject(d, "test") for d in docs], [])


PODS = [_pod("db", "event_store"), _pod("api", "gateway", (8000,)), _pod("edge", "edge", (8443,)),
        _pod("other", "gateway", (8000,), namespace="elsewhere")]


def _reach(manifests, source, destination, port=5432):
    workloads = {w.name: w for w in manifests.workloads}
    src = OUTSIDE if source == OUTSIDE else workloads[source]
    return Policies(manifests).reachable(src, workloads[destination], Port(port, name=f"p{port}"))


def test_selectors_match_labels_and_expressions():
    labels = {"app": "db", "tier": "data"}
    assert selector_matches({}, labels)
    assert selector_matches({"matchLabels": {"app": "db"}}, labels)
    assert not selector_matches({"matchLabels": {"app": "api"}}, labels)
    assert selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["data"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["data"]}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "x", "operator": "Exists"}]}, labels)


def test_a_pod_no_policy_selects_is_open_to_everyone():
    manifests = _set(*PODS)
    assert _reach(manifests, "edge", "db") and _reach(manifests, OUTSIDE, "db")


def test_an_isolated_pod_admits_only_its_rules_peers_and_ports():
    manifests = _set(*PODS, _policy("db", """
podSelector: {matchLabels: {app.kubernetes.io/component: event_store}}
ingress:
  - from: [{podSelector: {matchLabels: {app.kubernetes.io/component: gateway}}}]
    ports: [{port: p5432}]
"""))
    assert _reach(manifests, "api", "db")
    assert not _reach(manifests, "edge", "db")
    assert not _reach(manifests, "other", "db"), "a podSelector alone stays in the policy's namespace"
    assert not _reach(manifests, OUTSIDE, "db")


def test_a_rule_without_from_admits_every_source_and_ports_ranges_count():
    manifests = _set(_pod("db", "event_store", (5432, 5433, 6000)), _pod("edge", "edge"), _policy("db", """
podSelector: {}
policyTypes: [Ingress]
ingress: [{ports: [{port: 5432, endPort: 5433}]}]
"""))
    assert _reach(manifests, "edge", "db", 5433) and _reach(manifests, OUTSIDE, "db", 5432)
    assert not _reach(manifests, "edge", "db", 6000)


def test_namespace_selectors_and_ip_blocks_may_admit_what_lies_outside():
    pinned = _set(*PODS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}, _policy("db", """
podSelector: {}
ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: elsewhere}}}]}]
"""))
    assert _reach(pinned, "other", "db") and not _reach(pinned, "api", "db")
    assert not _reach(pinned, OUTSIDE, "db"), "a namespace the manifests declare holds nothing unknown"
    for peer in ("{namespaceSelector: {}}", "{namespaceSelector: {matchLabels: {team: x}}}",
                 "{ipBlock: {cidr: 10.0.0.0/8}}"):
        manifests = _set(*PODS, _policy("db", f"podSelector: {{}}\ningress: [{{from: [{peer}]}}]\n"))
        assert _reach(manifests, OUTSIDE, "db"), peer


def test_egress_isolation_of_the_source_blocks_too():
    manifests = _set(*PODS, _policy("api-out", """
podSelector: {matchLabels: {app.kubernetes.io/component: gateway}}
policyTypes: [Egress]
egress: [{to: [{podSelector: {matchLabels: {app.kubernetes.io/component: edge}}}]}]
"""))
    assert not _reach(manifests, "api", "db"), "the gateway may only send to the edge"
    assert _reach(manifests, "edge", "db") and _reach(manifests, OUTSIDE, "db")


def test_data_reachability_names_intruders_and_cut_off_clients():
    manifests = _set(*PODS[:3], _pod("worker", "worker", ()), _policy("db", """
podSelector: {matchLabels: {app.kubernetes.io/component: event_store}}
ingress: [{from: [{podSelector: {matchLabels: {app.kubernetes.io/component: edge}}}]}]
"""))
    reachability = DataReachability(manifests, {"event_store": ("gateway", "worker")})
    violations = reachability.violations()
    assert "Pod/edge (edge) reaches Pod/db (event_store) on 5432" in " ".join(violations).replace("shop/", "")
    assert sum("a client of event_store, cannot reach" in v for v in violations) == 2, violations
    assert "✗ open" in reachability.markdown() and "✗ closed" in reachability.markdown()
