"""Roles of Kubernetes workloads: the description, labels, images, then structure, then names."""

import pytest

from fixtures.errors import HarnessError
from fixtures.kube.manifests import K8sObject, ManifestSet
from fixtures.kube.roles import platform


def _workload(name, image, labels=None, env=None, args=None, volumes=None, kind="Deployment"):
    container = {"name": name, "image": image, "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                 "args": args or []}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "shop"},
            "spec": {"template": {"metadata": {"labels": {"app": name, **(labels or {})}},
                                  "spec": {"containers": [container], "volumes": volumes or []}}}}


def _service(name, selects, kind="ClusterIP"):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"},
            "spec": {"type": kind, "selector": {"app": selects}, "ports": [{"port": 80}]}}


def _set(*docs, declared=None) -> ManifestSet:
    manifests = ManifestSet([K8sObject(d, "test") for d in docs], [])
    manifests.declare_roles(declared or {})
    return manifests


def _roles(manifests):
    return {w.name: w.role for w in manifests.workloads}


EDGE_CONF = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "edge-conf", "namespace": "shop"},
             "data": {"nginx.conf": "upstream api { server api:8000; }"}}


def test_structure_finds_the_edge_the_gateway_behind_it_and_the_broker_s_consumer():
    manifests = _set(
        _workload("front", "nginx:1.27", volumes=[{"name": "conf", "configMap": {"name": "edge-conf"}}]),
        _service("front", "front", "LoadBalancer"), EDGE_CONF,
        _workload("api", "example/api:1"), _service("api", "api"),
        _workload("orders", "example/orders:1", env={"BUS_HOST": "bus.shop.svc.cluster.local"}),
        _workload("bus", "rabbitmq:3.13", kind="StatefulSet"), _service("bus", "bus"),
        _workload("reports", "example/reports:1"))
    assert _roles(manifests) == {"front": "edge", "api": "gateway", "orders": "worker", "bus": "broker",
                                 "reports": None}
    assert platform(manifests, {}, "inferred").summary().startswith("edge=front (nginx), gateway=api, worker=orders")


def test_an_ingress_or_an_http_route_makes_the_pods_behind_its_service_gateways():
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "shop"},
               "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                                                       "backend": {"service": {"name": "a", "port": {"number": 80}}}}]}}]}}
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r", "namespace": "shop"},
             "spec": {"rules": [{"backendRefs": [{"name": "b", "port": 80}]}]}}
    manifests = _set(_workload("a", "x/a:1"), _service("a", "a"), _workload("b", "x/b:1"), _service("b", "b"),
                     _workload("c", "x/c:1"), _service("c", "c"), ingress, route)
    assert _roles(manifests) == {"a": "gateway", "b": "gateway", "c": None}


def test_a_proxy_that_serves_other_workloads_is_not_the_edge_and_one_that_faces_no_one_else_is():
    serving = _set(_workload("haproxy", "haproxy:2.9"), _service("haproxy", "haproxy"),
                   _workload("controller", "x/c:1", args=["--redis", "haproxy:6379"]))
    assert _roles(serving) == {"haproxy": None, "controller": None}
    alone = _set(_workload("proxy", "nginx:1.27"), _service("proxy", "proxy"))
    assert _roles(alone) == {"proxy": "edge"}


def test_names_give_roles_by_whole_words_only_where_nothing_shows_a_way_in():
    bare = _set(_workload("empacts-api", "empacts/api:latest"), _workload("application-controller", "x:1"),
                _workload("mail-worker", "x:1"))
    assert _roles(bare) == {"empacts-api": "gateway", "application-controller": None, "mail-worker": "worker"}
    with_a_way_in = _set(_workload("empacts-api", "empacts/api:latest"), _workload("web", "x:1"),
                         _service("web", "web", "NodePort"), _workload("worker", "x:1"))
    assert _roles(with_a_way_in) == {"empacts-api": None, "web": "gateway", "worker": "worker"}


def test_the_description_wins_and_a_workload_it_names_must_exist():
    docs = (_workload("db", "postgres:16", labels={"app.kubernetes.io/component": "cache"}), _workload("api", "x:1"))
    declared = {"event_store": {"workloads": ["Deployment/shop/db"], "services": []},
                "gateway": {"workloads": [], "services": ["api", "not-here"]}}
    assert _roles(_set(*docs, declared=declared)) == {"db": "event_store", "api": "gateway"}
    with pytest.raises(HarnessError, match="role gateway names workload api-gateway, which the manifests do not define"):
        _roles(_set(*docs, declared={"gateway": {"workloads": ["api-gateway"], "services": []}}))
