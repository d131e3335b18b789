"""The KUBE chapter's controls run in this process, on a manifest set: seconds for every mutant.

The controls are the real ones (suites/test_kube.py), called with the same fixtures the
plugin gives them; what a pytest run adds (reports, exit codes) is proven by the subprocess
runs in tests/test_kube.py.
"""

import importlib.util
import inspect

import pytest

from fixtures.applicability import NOT_APPLICABLE, reason_of
from fixtures.paths import DEFAULT_STACK_FILE
from fixtures.platform.declaration import declared_clients
from fixtures.kube.expectations import HEALTH_PATH
from fixtures.kube.manifests import ManifestSet
from fixtures.kube.network_policies import DataReachability
from tests.suite_runner import ROOT

CHAPTER = ROOT / "suites" / "test_kube.py"


def _controls() -> dict[str, callable]:
    spec = importlib.util.spec_from_file_location("suites_test_kube", CHAPTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = {}
    for function in vars(module).values():
        marks = [m for m in getattr(function, "pytestmark", []) if m.name == "control"]
        if marks and inspect.isfunction(function):
            found[marks[0].args[0]] = function
    return found


CONTROLS = _controls()


def judge(manifests: ManifestSet) -> dict[str, tuple[str, str]]:
    """control id -> (status, message) for every KUBE control."""
    fixtures = {"manifests": manifests, "observed": lambda text: None, "kube_health_path": HEALTH_PATH,
                "kube_reachability": DataReachability(manifests, declared_clients(None, DEFAULT_STACK_FILE))}
    results = {}
    for control_id, function in sorted(CONTROLS.items()):
        arguments = {name: fixtures[name] for name in inspect.signature(function).parameters}
        try:
            function(**arguments)
            results[control_id] = ("passed", "")
        except AssertionError as exc:
            results[control_id] = ("failed", str(exc).splitlines()[0] if str(exc) else "")
        except pytest.skip.Exception as exc:
            reason = reason_of(str(exc))
            results[control_id] = (NOT_APPLICABLE if reason is not None else "skipped", reason or str(exc))
    return results
