"""Each run picks host ports from a block of its own, so runs side by side never share a port."""

import fcntl
import socket
import subprocess
import sys

import pytest

from fixtures.engine import host_ports
from tests.suite_runner import ROOT


@pytest.fixture(autouse=True)
def own_lock_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(host_ports, "_claimed", None)
    monkeypatch.setattr(host_ports, "_cursor", {})
    monkeypatch.setattr(host_ports, "LOCK_DIR", tmp_path)
    return tmp_path


def test_ports_picked_one_after_another_differ_and_stay_in_the_block():
    picked = [host_ports.free_loopback_port(host_ports.EDGE_PORT_RANGE, "the edge") for _ in range(3)]
    first = host_ports.EDGE_PORT_RANGE[0] + host_ports.claimed_block() * host_ports.BLOCK_SIZE
    assert len(set(picked)) == 3
    assert all(first <= port < first + host_ports.BLOCK_SIZE for port in picked), picked


def test_a_port_someone_listens_on_is_skipped():
    first = host_ports.FORWARD_PORT_RANGE[0] + host_ports.claimed_block() * host_ports.BLOCK_SIZE
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", first))
        holder.listen()
        assert host_ports.free_loopback_port(host_ports.FORWARD_PORT_RANGE, "a forward") != first


def test_a_block_another_run_holds_is_not_claimed_and_is_freed_with_its_process(own_lock_dir):
    code = ("import time; from pathlib import Path; from fixtures.engine import host_ports; "
            f"print(host_ports.claimed_block(Path({str(own_lock_dir)!r})), flush=True); time.sleep(60)")
    other = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        held = int(other.stdout.readline())
        # A claim that starts at the held block moves on to the next.
        assert _claim_in_a_new_process(own_lock_dir, starting_at=held) == (held + 1) % host_ports.BLOCKS
    finally:
        other.kill()
        other.wait()
    with open(own_lock_dir / f"{held}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if the dead run still held it


def _claim_in_a_new_process(lock_dir, starting_at: int) -> int:
    code = (f"import random; random.randrange = lambda n: {starting_at}; from pathlib import Path; "
            f"from fixtures.engine import host_ports; print(host_ports.claimed_block(Path({str(lock_dir)!r})))")
    return int(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout)
