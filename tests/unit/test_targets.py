"""The target seam: one registry, capabilities instead of names, and nobody else comparing the name."""

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from fixtures import targets
from fixtures.controls import validate
from fixtures.gate import registry
from fixtures.paths import ROOT
from fixtures.targets.base import CAPABILITIES, NEED_PREFIX, Target, TargetCannot

TARGETS_DIR = ROOT / "fixtures" / "targets"
SCANNED = [*sorted((ROOT / "fixtures").rglob("*.py")), *sorted((ROOT / "suites").rglob("*.py")), ROOT / "conftest.py"]
COMPARISONS = (ast.Eq, ast.NotEq, ast.In, ast.NotIn, ast.Is, ast.IsNot)


def _names_the_target(node: ast.AST) -> bool:
    """`target` or `<anything>.target`: a run's target name (a string), wherever it comes from."""
    return (isinstance(node, ast.Name) and node.id == "target") or (isinstance(node, ast.Attribute) and node.attr == "target")


def target_name_comparisons(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Compare) and any(isinstance(op, COMPARISONS) for op in node.ops)
                and any(_names_the_target(operand) for operand in (node.left, *node.comparators))):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_outside_the_targets_compares_the_target_name():
    outside = [p for p in SCANNED if TARGETS_DIR not in p.parents]
    found = [line for path in outside for line in target_name_comparisons(path)]
    assert found == [], "compare capabilities (fixtures/targets/base.py), not names:\n" + "\n".join(found)


def test_the_scan_sees_a_comparison_of_the_name(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('if info.target == "static" or target in ("compose", "existing"):\n    pass\n'
                      'mount.get("target") == "/data"\n')
    assert target_name_comparisons(module, tmp_path) == [
        "m.py:1: info.target == 'static'", "m.py:1: target in ('compose', 'existing')"]


def test_every_registered_name_is_its_class_name_and_a_target():
    assert targets.names() == ["compose", "existing", "static", "manifests", "swarm"]
    for name in targets.names():
        cls = targets.get(name)
        assert issubclass(cls, Target) and cls.name == name and cls.help and cls.judges
    with pytest.raises(KeyError, match="unknown target 'nomad': one of compose, existing, static, manifests, swarm"):
        targets.get("nomad")


def test_capabilities_say_what_each_target_can_do():
    def capable(name):
        return {c for c in CAPABILITIES if getattr(targets.get(name), c)}

    verbs = {"can_scale", "can_stop_replica", "can_restart", "can_update", "can_rollback", "can_run_once"}
    assert capable("compose") == {"compose_model", "live", "owns_stack", "binds_host_ports",
                                  "publishes_on_host_address"} | verbs
    assert capable("existing") == {"compose_model", "live", "can_scale", "can_stop_replica", "can_restart",
                                   "binds_host_ports", "publishes_on_host_address"}
    assert capable("static") == {"compose_model", "publishes_on_host_address"}
    assert capable("manifests") == {"manifests"}
    assert capable("swarm") == {"compose_model", "live", "swarm", "orchestrated_by_swarm", "can_scale",
                                "can_stop_replica", "can_restart"}


@pytest.mark.parametrize("name, needs, reason", [
    ("compose", (), None),
    ("compose", ("broker", "target:can_scale"), None),
    ("compose", ("event_store:postgres", "target:owns_stack"), None),
    ("static", ("target:live",), "a live control: --target static judges the compose model only"),
    ("static", ("target:can_scale",), "a live control: --target static judges the compose model only"),
    ("existing", ("target:owns_stack",), ("needs a stack this run brought up and may re-create (--target compose): "
                                          "--target existing judges a running deployment it did not bring up")),
    ("compose", ("target:manifests",),
     "KUBE controls judge Kubernetes manifests: run with --target manifests --manifests DIR"),
    ("manifests", (), "--target manifests judges Kubernetes manifests only"),
    ("manifests", ("target:can_scale",), "--target manifests judges Kubernetes manifests only"),
    ("manifests", ("target:manifests",), None),
    ("swarm", ("target:swarm", "gateway"), None),
    # NET-005 on Swarm: no container holds a published port there.
    ("compose", ("edge", "target:binds_host_ports"), None),
    ("swarm", ("edge", "target:binds_host_ports"),
     "judges the containers' host port bindings, and --target swarm has none to judge: a port Swarm publishes is "
     "its routing mesh's, on every interface of every node (`docker stack deploy` takes no host address), never a "
     "container's binding to one, so the harness publishes nothing and reaches the edge through its port-forward"),
    ("static", ("target:binds_host_ports",), "a live control: --target static judges the compose model only"),
    ("compose", ("target:swarm",),
     "a live Docker Swarm control: run with --target swarm (--target compose judges the stack it brings up)"),
])
def test_an_unmet_need_is_one_reason(name, needs, reason):
    assert targets.get(name).unmet(needs) == reason


def test_the_host_address_of_a_port_is_judged_wherever_compose_binds_it_and_nowhere_on_swarm():
    needs = ("target:publishes_on_host_address",)  # CONFIG-009
    assert targets.get("static").unmet(needs, SimpleNamespace(orchestrator=None)) is None
    assert targets.get("compose").unmet(needs) is None
    for name, options in (("static", SimpleNamespace(orchestrator="swarm")), ("swarm", None)):
        assert "the routing mesh publishes it on every interface" in targets.get(name).unmet(needs, options)


def test_a_verb_the_target_cannot_do_is_one_line_naming_both():
    static = targets.get("static")(SimpleNamespace(), lambda line: None)
    with pytest.raises(TargetCannot, match="^--target manifests cannot scale api-gateway$"):
        targets.get("manifests")(SimpleNamespace(), lambda line: None).scale("api-gateway", 3)
    for verb, args in [("stop_replica", ("api-gateway",)), ("update", ("api-gateway", "x:2")),
                       ("rollback", ("api-gateway",)), ("restart", ("redis",)), ("containers", ("redis",))]:
        with pytest.raises(TargetCannot, match="^--target static cannot "):
            getattr(Target, verb)(static, *args)


def test_every_control_states_target_needs_by_capability():
    stated = {n for c in registry.controls() for n in c.needs if n.startswith(NEED_PREFIX)}
    assert stated and all(n.removeprefix(NEED_PREFIX) in CAPABILITIES for n in stated)
    kube = [c for c in registry.controls() if c.prefix == "KUBE"]
    assert kube and all("target:manifests" in c.needs for c in kube)


def test_a_misspelt_target_need_stops_collection():
    item = SimpleNamespace(path=Path("suites/test_x.py"), originalname="test_x", get_closest_marker=lambda name: (
        pytest.mark.control("SCALE-099", title="t", severity="high", reference="r", needs=("target:scale",)).mark))
    problems = validate([item], lambda i: True)
    assert problems == [("test_x.py::test_x: control SCALE-099 needs 'target:scale', not a target capability "
                         f"({', '.join(NEED_PREFIX + c for c in CAPABILITIES)})")]


def test_the_gate_registry_reads_fixtures_without_the_plugin():
    source = (ROOT / "fixtures" / "gate" / "registry.py").read_text()
    assert "import plugin" not in source and "fixtures.plugin" not in source
    assert "def stack_as_brought_up" in (ROOT / "fixtures" / "suite_fixtures.py").read_text()
    assert "@pytest.fixture" not in (ROOT / "fixtures" / "plugin.py").read_text()
