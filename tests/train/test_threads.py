"""The thread policy: the user's choice first, then one made from the size of a step."""

from __future__ import annotations

import json
import os

import pytest
import torch
from torch import nn

from vegan.errors import ConfigError
from vegan.train import threads as th


def test_multiply_adds_are_counted_per_sample_by_hand():
    net = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    assert th.count_macs(net, lambda: net(torch.zeros(7, 3))) == 3 * 5 + 5 * 2
    conv = nn.Conv2d(1, 4, kernel_size=3)  # 8x8 -> 6x6, 4 channels, 9 taps each
    assert th.count_macs(conv, lambda: conv(torch.zeros(2, 1, 8, 8))) == 6 * 6 * 4 * 9
    up = nn.ConvTranspose2d(4, 2, kernel_size=4, stride=2)  # each input value feeds 2 x 16
    assert th.count_macs(up, lambda: up(torch.zeros(5, 4, 3, 3))) == 3 * 3 * 4 * 2 * 16
    grouped = nn.Conv2d(4, 4, kernel_size=1, groups=2)  # 2 inputs per output
    assert th.count_macs(grouped, lambda: grouped(torch.zeros(1, 4, 2, 2))) == 2 * 2 * 4 * 2


@pytest.fixture
def machine(monkeypatch):
    """A 16-core machine with no OMP_NUM_THREADS and no launcher."""
    monkeypatch.setattr(th, "available_cores", lambda: 16)
    for var in ("OMP_NUM_THREADS", "LOCAL_WORLD_SIZE", "TORCHELASTIC_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_small_steps_get_one_thread_and_large_ones_the_cores(machine):
    assert th.choose_threads(0, th.SMALL_STEP / 10).threads == 1
    big = th.choose_threads(0, th.SMALL_STEP * 10)
    assert big.threads == 16 and "16 cores" in big.source
    machine.setenv("LOCAL_WORLD_SIZE", "3")  # torchrun with 3 ranks on this machine
    assert th.choose_threads(0, th.SMALL_STEP * 10).threads == 5


def test_the_option_then_the_users_omp_setting_win(machine):
    machine.setenv("OMP_NUM_THREADS", "3")
    assert th.choose_threads(0, th.SMALL_STEP * 10) == th.ThreadChoice(3, "OMP_NUM_THREADS")
    assert th.choose_threads(2, th.SMALL_STEP * 10) == th.ThreadChoice(2, "the threads option")


def test_torchruns_own_default_is_not_the_users_choice(machine):
    # torchrun sets OMP_NUM_THREADS=1 for its workers when the user did not.
    machine.setenv("OMP_NUM_THREADS", "1")
    machine.setenv("TORCHELASTIC_RUN_ID", "abc")
    machine.setenv("LOCAL_WORLD_SIZE", "2")
    machine.setattr(th, "_launcher_had_omp", lambda: False)
    assert th.choose_threads(0, th.SMALL_STEP * 10).threads == 8
    machine.setattr(th, "_launcher_had_omp", lambda: True)  # the user set it for torchrun
    assert th.choose_threads(0, th.SMALL_STEP * 10).threads == 1


def test_threads_are_restored_after_the_block():
    before = torch.get_num_threads()
    with th.using_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_a_run_records_its_choice(run_cli, tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    base = ["--data", "toy:8gaussians", "--steps", "2", "--no-progress"]
    assert run_cli("train", "ae", *base, "--out", tmp_path / "a")[0] == 0
    info = json.loads((tmp_path / "a" / "run.json").read_text())
    assert info["threads"]["threads"] == 1
    assert info["threads"]["source"].startswith("auto: small step")
    assert run_cli("train", "ae", *base, "--out", tmp_path / "b", "--threads", "2")[0] == 0
    info = json.loads((tmp_path / "b" / "run.json").read_text())
    assert info["threads"] == {"threads": 2, "source": "the threads option"}
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert run_cli("train", "ae", *base, "--out", tmp_path / "c")[0] == 0
    info = json.loads((tmp_path / "c" / "run.json").read_text())
    assert info["threads"] == {"threads": 1, "source": "OMP_NUM_THREADS"}


def test_a_negative_thread_count_is_refused(tmp_path):
    import vegan

    with pytest.raises(ConfigError, match="option 'threads' must be >= 0"):
        vegan.fit("ae", "toy:8gaussians", tmp_path / "run", steps=2, threads=-1)
    assert not (tmp_path / "run").exists()


def _wait_policy_after_main(env_value: str | None) -> str:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if env_value is not None:
        env["OMP_WAIT_POLICY"] = env_value
    code = (
        "import os, sys\n"
        "from vegan.cli import main\n"
        "assert 'torch' not in sys.modules\n"
        "main(['recipes'])\n"
        "assert 'torch' in sys.modules\n"
        "print('policy', os.environ.get('OMP_WAIT_POLICY'))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    return res.stdout.strip().splitlines()[-1]


def test_the_command_line_lets_idle_openmp_workers_sleep_before_torch_loads():
    assert _wait_policy_after_main(None) == "policy PASSIVE"


def test_a_wait_policy_the_user_set_is_kept(monkeypatch):
    import sys

    from vegan.cli import calm_openmp

    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.delitem(sys.modules, "torch")  # as before torch loads (restored after)
    calm_openmp()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
