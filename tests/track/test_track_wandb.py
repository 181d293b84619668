"""Weights & Biases: offline by default, never a prompt; the offline run files read back."""

from __future__ import annotations

import json
import struct
import time

import pytest

from vegan.errors import ConfigError
from vegan.train.options import check_wandb_key, wandb_mode


@pytest.fixture
def no_wandb_config(tmp_path, monkeypatch):
    """No W&B settings, key or netrc from this machine; W&B's own files under tmp_path."""
    for name in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_PROJECT", "NETRC"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_ARTIFACT_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("WANDB_SILENT", "true")
    return home


def test_offline_unless_configured(no_wandb_config, monkeypatch):
    assert wandb_mode() == "offline"
    check_wandb_key()  # offline needs no key
    monkeypatch.setenv("WANDB_MODE", "Online")
    assert wandb_mode() == "online"
    with pytest.raises(ConfigError) as info:
        check_wandb_key()
    message = str(info.value)
    assert "wandb login" in message and "WANDB_API_KEY" in message and "\n" not in message
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    check_wandb_key()
    monkeypatch.delenv("WANDB_API_KEY")
    (no_wandb_config / ".netrc").write_text("machine api.wandb.ai login user password secret\n")
    (no_wandb_config / ".netrc").chmod(0o600)
    check_wandb_key()  # 'wandb login' wrote the key there


def test_online_without_a_key_is_refused_before_anything_is_written(
    no_wandb_config, run_cli, tmp_path, monkeypatch
):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(  # as if wandb were installed: the key is checked either way
        importlib.util,
        "find_spec",
        lambda name, *a: object() if name == "wandb" else real(name, *a),
    )
    monkeypatch.setenv("WANDB_MODE", "online")
    out = tmp_path / "run"
    code, _, err = run_cli(
        "train", "wae-mmd", "--data", "toy:8gaussians", "--out", out, "--steps", "5",
        "--no-progress", "--set", "log_to=wandb",
    )  # fmt: skip
    assert code == 2
    assert "no W&B API key is configured" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def _records(run_file) -> list[bytes]:
    """The records of a W&B run file: a 7-byte header, then LevelDB-log records in 32 KiB
    blocks (each: CRC-32, length, type FULL/FIRST/MIDDLE/LAST, data), as wandb sync reads."""
    data = run_file.read_bytes()
    assert data[:4] == b":W&B", "not a W&B run file"
    out, pending, pos, block = [], b"", 7, 32768
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header: padding
            pos += block - pos % block
            continue
        crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if (length == 0 and kind == 0) or pos + 7 + length > len(data):
            break  # the end, or a record still being written
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            out.append(pending)
    return out


def _kinds(run_file) -> list[str]:
    from wandb.proto import wandb_internal_pb2

    kinds = []
    for data in _records(run_file):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(data)
        kinds.append(record.WhichOneof("record_type"))
    return kinds


def _history(run_file):
    """(history rows, config) of an offline run file."""
    from wandb.proto import wandb_internal_pb2

    rows, config = [], {}
    for data in _records(run_file):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(data)
        kind = record.WhichOneof("record_type")
        if kind == "history":
            rows.append(
                {
                    (item.key or "/".join(item.nested_key)): json.loads(item.value_json)
                    for item in record.history.item
                }
            )
        elif kind == "config":
            for item in record.config.update:
                config[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return rows, config


def test_offline_run_files_hold_the_metrics(no_wandb_config, toy_run, metrics_of, tmp_path):
    pytest.importorskip("wandb", reason="the wandb extra is not installed")
    run = tmp_path / "run"
    toy_run(run, log_to="wandb")
    files = sorted((run / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == 1, sorted(p.name for p in (run / "wandb").rglob("*"))
    # W&B's service process writes the file: wait for its last record (the run's exit).
    deadline = time.monotonic() + 60
    while _kinds(files[0])[-1:] != ["exit"] and time.monotonic() < deadline:
        time.sleep(0.2)
    rows, config = _history(files[0])
    got = [(r["step"], r["autoencoder/loss"]) for r in rows if "autoencoder/loss" in r]
    want = metrics_of(run)["autoencoder/loss"]
    assert [s for s, _ in got] == [s for s, _ in want]
    assert [v for _, v in got] == pytest.approx([v for _, v in want], rel=1e-6)
    grids = [r["step"] for r in rows if r.get("pictures/samples/_type") == "image-file"]
    assert grids == [20, 40]
    info = json.loads((run / "run.json").read_text())
    lam = config["lam"]
    assert (lam.get("value") if isinstance(lam, dict) else lam) == info["config"]["lam"]
    state = json.loads((run / "trackers.json").read_text())["wandb"]
    assert files[0].name == f"run-{state['id']}.wandb" and state["last_step"] == 40
