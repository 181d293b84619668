"""Where batches come from: streamed items in BatchStream order, workers, shards, torch inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import vegan
from vegan.data.items import ArrayItems
from vegan.errors import ConfigError, DataError, ShapeError
from vegan.train.batches import BatchStream
from vegan.train.checkpoint import list_checkpoints
from vegan.train.feed import MemoryFeed, StreamFeed

FAST = dict(progress=False, samples_every=0, backbone="mlp", hidden=16, latent_dim=2)


def _final(run):
    path = list_checkpoints(run)[-1]
    meta = json.loads(path.read_text())
    return meta["step"], load_file(path.parent / meta["tensors"])


def _u8(tmp_path, n=75):
    """n grey 4x4 uint8 images; item i holds i in its first pixel (the oracle of its identity)."""
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(n, 1, 4, 4), dtype=np.uint8)
    arr[:, 0, 0, 0] = np.arange(n)
    np.save(tmp_path / "u8.npy", arr)
    return tmp_path / "u8.npy", arr


def test_two_ranks_see_disjoint_shards_covering_the_epoch():
    n, batch = 23, 6  # 3 batches an epoch, 5 items left out each epoch
    ranks = [BatchStream(n, batch, seed=4, rank=r, world=2) for r in range(2)]
    single = BatchStream(n, batch, seed=4)
    for _epoch in range(2):
        seen = [[], []]
        for _ in range(single.per_epoch):
            parts = [s.next_indices() for s in ranks]
            assert [len(p) for p in parts] == [3, 3]
            whole = single.next_indices()
            assert torch.equal(torch.cat(parts), whole)  # the union is the one-process batch
            for r in range(2):
                seen[r] += parts[r].tolist()
        assert not set(seen[0]) & set(seen[1])
        assert len(set(seen[0]) | set(seen[1])) == 18 and set(seen[0]) | set(seen[1]) <= set(
            range(n)
        )


class _Counting(ArrayItems):
    """Array items that remember which stored items were read."""

    def __init__(self, array):
        super().__init__(array, "counted")
        self.seen: list[int] = []

    def _read(self, rows):
        self.seen += rows.tolist()
        return super()._read(rows)


def test_each_rank_reads_only_its_shard():
    arr = np.arange(40 * 3, dtype=np.float32).reshape(40, 3)
    feeds = []
    for r in range(2):
        items = _Counting(arr)
        feed = StreamFeed(items, 8, seed=1, rank=r, world=2, device=torch.device("cpu"))
        items.seen.clear()  # the preview for the callbacks
        feeds.append((feed, items))
    for _ in range(5):  # one epoch: 5 batches of 8, 4 per rank
        for feed, _ in feeds:
            b = feed.next()
            assert b.shape == (4, 3)
    a, b = (set(items.seen) for _, items in feeds)
    assert len(a) == len(b) == 20 and not a & b and a | b == set(range(40))


def test_stream_equals_memory_batches():
    arr = np.random.default_rng(1).integers(0, 256, (30, 1, 3, 3), dtype=np.uint8)
    mem = MemoryFeed(torch.from_numpy(arr), 7, 5, 0, 1, torch.device("cpu"))
    stream = StreamFeed(ArrayItems(arr), 7, 5, 0, 1, torch.device("cpu"))
    for _ in range(9):  # over two epochs
        x = stream.next()
        assert x.dtype == torch.float32
        assert torch.equal(x, mem.next())


def test_resume_with_workers_is_bit_identical(tmp_path):
    path, _ = _u8(tmp_path)
    # 60 train items, batch 12: 5 steps an epoch; the cut at step 7 is mid-epoch
    opts = dict(FAST, batch_size=12, seed=2, checkpoint_every=7)
    vegan.fit("wae-mmd", str(path), tmp_path / "one", steps=12, num_workers=0, **opts)
    vegan.fit("wae-mmd", str(path), tmp_path / "two", steps=7, num_workers=2, **opts)
    assert _final(tmp_path / "two")[0] == 7
    vegan.fit("wae-mmd", str(path), tmp_path / "two", steps=12, num_workers=2, resume=True, **opts)
    (s1, t1), (s2, t2) = _final(tmp_path / "one"), _final(tmp_path / "two")
    assert s1 == s2 == 12 and t1.keys() == t2.keys()
    for key in t1:
        assert torch.equal(t1[key], t2[key]), key


def test_uint8_array_trains_like_its_float_copy(tmp_path):
    _, arr = _u8(tmp_path, n=40)
    opts = dict(FAST, batch_size=8, seed=1, steps=4)
    m1, _ = vegan.fit("wae-mmd", arr, tmp_path / "u8", **opts)
    m2, _ = vegan.fit("wae-mmd", arr.astype(np.float32) / np.float32(255), tmp_path / "f", **opts)
    for (k, a), (_, b) in zip(m1.state_dict().items(), m2.state_dict().items()):
        assert torch.equal(a, b), k


class _Pairs(torch.utils.data.Dataset):
    def __init__(self, x):
        self.x = x

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return torch.from_numpy(self.x[i]), i % 3


def test_torch_dataset_is_read_in_vegans_order(tmp_path):
    path, arr = _u8(tmp_path, n=50)
    opts = dict(FAST, batch_size=10, seed=3, steps=6)
    m1, _ = vegan.fit("wae-mmd", _Pairs(arr), tmp_path / "ds", num_workers=1, **opts)
    m2, _ = vegan.fit("wae-mmd", arr, tmp_path / "arr", **opts)
    for (k, a), (_, b) in zip(m1.state_dict().items(), m2.state_dict().items()):
        assert torch.equal(a, b), k
    assert json.loads((tmp_path / "ds" / "run.json").read_text())["data"] == "dataset"
    # resume needs the object again, and then continues
    with pytest.raises(ConfigError, match="pass the same data again"):
        vegan.fit("wae-mmd", None, tmp_path / "ds", resume=True, **{**opts, "steps": 8})
    _, r = vegan.fit("wae-mmd", _Pairs(arr), tmp_path / "ds", resume=True, **{**opts, "steps": 8})
    assert r.step == 8


def test_dataloader_is_iterated_and_sets_the_batch(tmp_path):
    _, arr = _u8(tmp_path, n=48)
    x = torch.from_numpy(arr).float() / 255
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, torch.zeros(48)), batch_size=16, shuffle=True
    )
    model, r = vegan.fit("wae-mmd", loader, tmp_path / "dl", steps=5, **FAST)
    info = json.loads((tmp_path / "dl" / "run.json").read_text())
    assert info["data"] == "dataloader" and info["config"]["batch_size"] == 16
    assert r.step == 5 and r.epoch == pytest.approx(5 / 3)
    with pytest.raises(ConfigError, match="makes batches of 16 .* batch_size is 8"):
        vegan.fit("wae-mmd", loader, tmp_path / "dl2", steps=1, batch_size=8, **FAST)
    # resume: the same loader again; a new pass of it (its order is its own)
    _, r = vegan.fit("wae-mmd", loader, tmp_path / "dl", steps=7, resume=True, **FAST)
    assert r.step == 7
    state = json.loads(list_checkpoints(tmp_path / "dl")[-1].read_text())
    assert state["sampler"]["loader"] is True


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: [("a", 1)] * 4, DataError, r"item 0 of the list is str"),
        (lambda: [torch.zeros(2, 2, 2, 2)] * 4, ShapeError, r"item 0 .* shape \(2, 2, 2, 2\)"),
        (
            lambda: [torch.zeros(3)] * 3 + [torch.zeros(4)],
            ShapeError,
            r"item 3 of the list has shape \(4,\) but item 0 has \(3,\)",
        ),
        (lambda: [], DataError, "empty"),
    ],
)
def test_bad_torch_dataset_is_one_line(tmp_path, make, error, match):
    from vegan.data.items import TorchItems

    with pytest.raises(error, match=match) as info:
        TorchItems(make(), "list").read(np.arange(4))
    assert "\n" not in str(info.value)


def test_bad_dataloader_first_batch(tmp_path):
    loader = torch.utils.data.DataLoader([{"x": 1}] * 4, batch_size=2)
    with pytest.raises(DataError, match="first batch is dict; a DataLoader must yield"):
        vegan.fit("wae-mmd", loader, tmp_path / "bad", steps=1, **FAST)
    assert not (tmp_path / "bad").exists()
