"""The reference platform with every service renamed (db, mq, kv, gw, worker, proxy) is judged exactly as the reference."""

from tests.renamed_platform import write_renamed_platform
from tests.suite_runner import run_suite


def test_a_consistently_renamed_platform_is_judged_as_the_reference(reports_dir, tmp_path):
    reference = run_suite(reports_dir / "reference", "--target", "static", timeout_s=120)
    renamed = run_suite(reports_dir / "renamed", "--target", "static", "--stack-file",
                        str(write_renamed_platform(tmp_path)), timeout_s=120)
    assert renamed.returncode == reference.returncode == 0, renamed.output[-2000:]
    statuses = {c["id"]: c["status"] for c in reference.report["controls"]}
    assert {c["id"]: c["status"] for c in renamed.report["controls"]} == statuses
    assert "event_store=db (postgres), cache=kv (redis), broker=mq (rabbitmq)" in renamed.report["stack"]["platform"]["summary"]
