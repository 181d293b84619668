"""Property-based fuzzing (hypothesis): random and mutated inputs load or raise a VeganError.

Targets: the option parser (``build_config``, ``parse_sets``, ``load_toml``),
the IDX reader, the ``.npy``/``.npz`` loader, and the checkpoint reader
(``parse_safetensors``, ``read_checkpoint``, the training-state restore and
``vegan.load`` with a fuzzed ``run.json``). The property is the same for all:
the call returns, or raises a :class:`vegan.errors.VeganError`; any other
exception is a bug.

The default run is short and derandomized (the same examples every time,
``EXAMPLES`` per target); ``pytest -m slow`` runs every target with
``SLOW_EXAMPLES`` fresh random examples. No example database is written.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vegan
from vegan.data.idx import decode_idx, encode_idx, read_idx
from vegan.errors import VeganError
from vegan.io import load_array
from vegan.models.config import build_config, load_toml, parse_sets
from vegan.models.registry import get_recipe
from vegan.train import checkpoint as ckpt
from vegan.train.options import RunOptions, split_options

#: Examples per target in the default run, and with ``-m slow``.
EXAMPLES, SLOW_EXAMPLES = 60, 1500

_COMMON = dict(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FAST = settings(max_examples=EXAMPLES, derandomize=True, **_COMMON)
SLOW = settings(max_examples=SLOW_EXAMPLES, **_COMMON)


def _both(strategy, body):
    """Two tests of one target: a short derandomized run, and a long one marked slow."""

    @given(case=strategy)
    def fast(tmp_path_factory, case):
        body(tmp_path_factory, case)

    @given(case=strategy)
    def slow(tmp_path_factory, case):
        body(tmp_path_factory, case)

    return FAST(fast), pytest.mark.slow(SLOW(slow))


def loads_or_vegan_error(fn, *args, **kwargs):
    """Call ``fn``; a VeganError is an answer, anything else escapes (and fails the test)."""
    try:
        return fn(*args, **kwargs)
    except VeganError as exc:
        assert str(exc).strip(), "an error without a message"
        return exc


# --------------------------------------------------------------------------- strategies

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw, base: bytes, header: int = 0):
    """``base`` with a few bytes replaced (half of them in the first ``header`` bytes),
    maybe cut short, maybe with bytes appended."""
    data = bytearray(base)
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        hi = header if header and draw(st.booleans()) else len(data)
        i = draw(st.integers(0, min(hi, len(data)) - 1))
        data[i] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    data += draw(st.binary(max_size=12))
    return bytes(data)


# --------------------------------------------------------------------------- config parser

CFG = get_recipe("wae-mmd").config
FIELDS = [f for f in CFG.__dataclass_fields__]
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=12))
set_values = st.one_of(
    json_scalars,
    st.sampled_from(["1e3", "0x10", "1_000", " 3 ", "nan", "-inf", "true", "off", "1,2", "", "é"]),
)


def _configs(*sources):
    """The recipe's config and the run's options from the same sources (as vegan.fit splits)."""
    split = [split_options(CFG, s) for s in sources]
    run = build_config(RunOptions, *[r for _, r in split])
    return build_config(CFG, *[m for m, _ in split]), run


def _build_config(sources):
    out = loads_or_vegan_error(_configs, *sources)
    if not isinstance(out, VeganError):  # what is accepted is valid
        cfg, run = out
        assert cfg.batch_size > 0 and cfg.lr > 0 and math.isfinite(cfg.lr)
        assert run.epochs > 0 or run.steps > 0


def _fuzz_build_config(tmp, sources):
    _build_config(sources)


def _fuzz_parse_sets(tmp, items):
    sets = loads_or_vegan_error(parse_sets, items)
    if not isinstance(sets, VeganError):
        _build_config([sets])


TOML = b'lam = 10.0\nbatch_size = 64\nkernel = "imq"\nscales = [0.5, 1.0]\nseed = 3\n'


def _fuzz_load_toml(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "fuzz.toml"
    path.write_bytes(data)
    opts = loads_or_vegan_error(load_toml, path)
    if isinstance(opts, dict):
        _build_config([opts])


test_fuzz_build_config, test_fuzz_build_config_slow = _both(
    st.lists(st.dictionaries(keys, set_values | json_values, max_size=5), max_size=3),
    _fuzz_build_config,
)
test_fuzz_parse_sets, test_fuzz_parse_sets_slow = _both(
    st.lists(st.text(max_size=20) | st.builds(lambda k, v: f"{k}={v}", keys, set_values)),
    _fuzz_parse_sets,
)
test_fuzz_load_toml, test_fuzz_load_toml_slow = _both(
    st.one_of(mutated(TOML), st.binary(max_size=64)), _fuzz_load_toml
)


# --------------------------------------------------------------------------- IDX reader

IDX = encode_idx(np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))
IDX_F = encode_idx(np.linspace(-1, 1, 6, dtype=">f4").reshape(3, 2))


def _fuzz_idx(tmp_path_factory, data):
    got = loads_or_vegan_error(decode_idx, data, "fuzz.idx", max_bytes=1 << 16)
    if isinstance(got, np.ndarray):
        assert got.nbytes <= 1 << 16
    path = tmp_path_factory.getbasetemp() / "fuzz.idx"
    path.write_bytes(data)
    loads_or_vegan_error(read_idx, path, max_bytes=1 << 16)


test_fuzz_idx, test_fuzz_idx_slow = _both(
    st.one_of(
        mutated(IDX, header=16),
        mutated(IDX_F, header=12),
        mutated(gzip.compress(IDX), header=24),
        st.binary(max_size=40),
        st.builds(lambda b: b"\0\0" + b, st.binary(max_size=30)),
    ),
    _fuzz_idx,
)


# --------------------------------------------------------------------------- .npy / .npz loader


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


NPY = _npy(np.arange(12, dtype=np.float32).reshape(6, 2))
NPY_2 = _npy(np.ones((2, 1, 2, 2), dtype=np.uint8))
NPZ = _npz(x=np.arange(6.0).reshape(3, 2), y=np.arange(3))


def _fuzz_npy(tmp_path_factory, case):
    suffix, data = case
    path = tmp_path_factory.getbasetemp() / f"fuzz{suffix}"
    path.write_bytes(data)
    arr = loads_or_vegan_error(load_array, path)
    if isinstance(arr, np.ndarray):
        assert arr.dtype != object
        from vegan.data.files import prepare_array

        loads_or_vegan_error(prepare_array, arr, "fuzz")


test_fuzz_npy, test_fuzz_npy_slow = _both(
    st.one_of(
        st.tuples(st.just(".npy"), mutated(NPY, header=128)),
        st.tuples(st.just(".npy"), mutated(NPY_2, header=128)),
        st.tuples(st.just(".npz"), mutated(NPZ, header=64)),
        st.tuples(st.sampled_from([".npy", ".npz"]), st.binary(max_size=64)),
    ),
    _fuzz_npy,
)


# --------------------------------------------------------------------------- checkpoints

STATE: dict = {}


@pytest.fixture(scope="module", autouse=True)
def trained_run(tmp_path_factory):
    """One tiny run; the checkpoint targets mutate copies of its files."""
    run = tmp_path_factory.mktemp("fuzzrun") / "run"
    vegan.fit(
        "ae", "toy:8gaussians", run, steps=2, progress=False, samples_every=0, hidden=16,
        batch_size=50,
    )  # fmt: skip
    path = ckpt.list_checkpoints(run)[-1]
    meta = json.loads(path.read_text())
    STATE.update(
        run=run,
        json=path.read_text(),
        meta=meta,
        tensors=(path.parent / meta["tensors"]).read_bytes(),
        run_json=(run / "run.json").read_text(),
    )
    yield run


def _fuzz_parse_safetensors(tmp, data):
    blob = data.draw(st.one_of(mutated(STATE["tensors"], header=400), st.binary(max_size=80)))
    tensors = loads_or_vegan_error(ckpt.parse_safetensors, blob, "fuzz.safetensors")
    if isinstance(tensors, dict):  # what parses can be offered to a model: fits or refused
        model = vegan.load(STATE["run"])
        loads_or_vegan_error(ckpt.load_model_tensors, model, tensors)


def _fuzz_read_checkpoint(tmp_path_factory, data):
    folder = tmp_path_factory.getbasetemp() / "ckfuzz" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    meta = copy.deepcopy(STATE["meta"])
    tensors = STATE["tensors"]
    kind = data.draw(st.sampled_from(["field", "text", "tensors"]))
    if kind == "field":  # one field replaced by any JSON value (or removed)
        key = data.draw(st.sampled_from(sorted(meta)) | st.text(max_size=6))
        if data.draw(st.booleans()):
            meta.pop(key, None)
        else:
            meta[key] = data.draw(json_values)
        text = json.dumps(meta)
    elif kind == "text":  # the JSON text mutated
        text = data.draw(mutated(STATE["json"].encode(), header=60)).decode("latin-1")
    else:  # the tensor file mutated, with a JSON that vouches for it
        tensors = data.draw(mutated(tensors, header=400))
        meta.update(sha256=hashlib.sha256(tensors).hexdigest(), n_bytes=len(tensors))
        text = json.dumps(meta)
    (folder / STATE["meta"]["tensors"]).write_bytes(tensors)
    path = folder / f"step-{STATE['meta']['step']:08d}.json"
    path.write_text(text, encoding="latin-1")
    loads_or_vegan_error(ckpt.read_checkpoint, path)


def _fuzz_restore(tmp, data):
    """The training state of a checkpoint (optimizers, RNG, sampler, ...) with one field fuzzed."""
    from vegan.data import load_dataset
    from vegan.models.registry import build, make_config
    from vegan.train.loop import Trainer, _NonFinite

    run = STATE["run"]
    c = ckpt.read_checkpoint(ckpt.list_checkpoints(run)[-1])
    state = copy.deepcopy(c.state)
    path = data.draw(st.sampled_from(_paths(state)))
    value = data.draw(json_values)
    _set(state, path, value)
    c.state = state
    info = json.loads(STATE["run_json"])
    x = load_dataset(info["data"], "train").x
    cfg = make_config("ae", (2,), info["config"])
    options = RunOptions(**info["run"])
    trainer = Trainer(build("ae", (2,), cfg), x, run, options, torch.device("cpu"), progress=False)
    rng = torch.get_rng_state()
    try:
        if not isinstance(loads_or_vegan_error(trainer.restore, c), VeganError):
            try:  # what was accepted can train
                trainer.train_step()
            except _NonFinite:  # a fuzzed optimizer state may diverge: caught by the loop
                pass
    finally:
        torch.set_rng_state(rng)


def _paths(obj, prefix=()):
    """Every path to a value inside nested dicts/lists (the value's own path included)."""
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            out += _paths(v, (*prefix, i))
    return out


def _set(obj, path, value):
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value


def _fuzz_run_json(tmp_path_factory, data):
    import shutil

    run = tmp_path_factory.getbasetemp() / "runfuzz"
    if not run.exists():
        shutil.copytree(STATE["run"], run)
    info = json.loads(STATE["run_json"])
    if data.draw(st.booleans()):
        path = data.draw(st.sampled_from(_paths(info)))
        _set(info, path, data.draw(json_values))
        text = json.dumps(info)
    else:
        text = data.draw(mutated(STATE["run_json"].encode(), header=120)).decode("latin-1")
    (run / "run.json").write_text(text, encoding="latin-1")
    loads_or_vegan_error(vegan.load, run)


test_fuzz_parse_safetensors, test_fuzz_parse_safetensors_slow = _both(
    st.data(), _fuzz_parse_safetensors
)
test_fuzz_read_checkpoint, test_fuzz_read_checkpoint_slow = _both(st.data(), _fuzz_read_checkpoint)
test_fuzz_restore, test_fuzz_restore_slow = _both(st.data(), _fuzz_restore)
test_fuzz_run_json, test_fuzz_run_json_slow = _both(st.data(), _fuzz_run_json)

#: Fuzz targets (each runs EXAMPLES examples by default, SLOW_EXAMPLES with -m slow).
TARGETS = 9


def test_target_count():
    names = [n for n in globals() if n.startswith("test_fuzz_") and not n.endswith("_slow")]
    assert len(names) == TARGETS
    assert Path(__file__).is_file()
