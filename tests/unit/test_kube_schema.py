"""Schema validation against the Kubernetes schemas kubernetes-validate ships: offline, strict."""

from fixtures.kube import schema
from fixtures.kube.manifests import K8sObject


def _object(doc):
    return K8sObject(doc, "f.yaml#1")


CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}


def test_a_valid_object_passes_and_a_custom_resource_is_only_listed():
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert schema.problems([_object(CONFIG_MAP), _object(widget)]) == ([], ["Widget/w"])


def test_unknown_fields_wrong_types_and_unknown_kinds_are_one_line_each():
    typo = {**CONFIG_MAP, "datta": {}}
    wrong_type = {**CONFIG_MAP, "data": {"a": 1}}
    unknown = {"apiVersion": "apps/v1", "kind": "Deploymint", "metadata": {"name": "d"}}
    invalid, unchecked = schema.problems([_object(typo), _object(wrong_type), _object(unknown)])
    assert unchecked == [] and len(invalid) == 3, invalid
    assert "ConfigMap/c does not match the Kubernetes" in invalid[0] and "'datta' was unexpected" in invalid[0]
    assert "data.a" in invalid[1]
    assert invalid[2] == f"f.yaml#1: Deploymint/d: Kubernetes {schema.KUBERNETES_VERSION} has no kind Deploymint in apps/v1"
