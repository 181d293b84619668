"""Mixed precision: the run option ``precision``, autocast in the steps, float32 transport terms.

On the CPU bfloat16 autocast is what a user gets; PyTorch 2.13's CPU
autocast also takes float16, so the loss-scaling path (``precision = "16"``,
a GradScaler per player, its state in the checkpoints) runs here too.
"""

from __future__ import annotations

import importlib
import json
import math

import pytest
import torch
from safetensors.torch import load_file

import vegan
from vegan.errors import CheckpointError, ConfigError
from vegan.models.registry import list_recipes
from vegan.ot.fp32 import autocast_enabled
from vegan.train.loop import Trainer
from vegan.train.precision import MIN_SCALE, MixedPrecision, check_device

TINY = {"width": 4, "hidden": 16, "batch_size": 16, "samples_every": 0, "log_every": 1}
#: Smaller parts of the recipes that have them (each test step stays a few milliseconds).
PARTS = {
    "wae-gan": {"adv_hidden": 16, "adv_depth": 1},
    "aae": {"adv_hidden": 16, "adv_depth": 1},
    "avb": {"ac_samples": 2},
    "wgan": {"critic_boost": False},
}


def _fit(recipe, data, out, steps, **options):
    opts = {**TINY, **PARTS.get(recipe, {}), **options}
    return vegan.fit(recipe, data, out, steps=steps, progress=False, device="cpu", **opts)


def _tensors(run, step):
    path = run / "checkpoints" / f"step-{step:08d}.json"
    meta = json.loads(path.read_text())
    return meta, load_file(path.parent / meta["tensors"])


# ------------------------------------------------------------------ the option


@pytest.mark.parametrize("bad", ["fp16", "64", "bfloat", ""])
def test_unknown_precision_is_a_one_line_config_error_and_writes_nothing(tmp_path, bad):
    out = tmp_path / "run"
    with pytest.raises(ConfigError) as info:
        _fit("wae-mmd", "toy:8gaussians", out, 2, precision=bad)
    msg = str(info.value)
    assert "\n" not in msg and "precision" in msg and "32, bf16 or 16" in msg
    assert not out.exists()


def test_common_other_names_get_a_hint(tmp_path):
    with pytest.raises(ConfigError, match=r"did you mean '16'"):
        _fit("wae-mmd", "toy:8gaussians", tmp_path / "r", 2, precision="fp16")
    with pytest.raises(ConfigError, match=r"did you mean 'bf16'"):
        _fit("wae-mmd", "toy:8gaussians", tmp_path / "r", 2, precision="bfloat16")


def test_cli_flag_is_recorded_in_run_json(run_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli(
        "train", "ae", "--data", "toy:8gaussians", "--out", out, "--steps", "2",
        "--precision", "bf16", "--no-progress", "--set", "samples_every=0",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads((out / "run.json").read_text())["run"]["precision"] == "bf16"
    code, _, err = run_cli(
        "train", "ae", "--data", "toy:8gaussians", "--out", tmp_path / "r2", "--steps", "2",
        "--set", "precision=half", "--no-progress",
    )  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "precision" in err
    assert not (tmp_path / "r2").exists()


def test_default_is_float32_and_recorded(tmp_path):
    _fit("ae", "toy:8gaussians", tmp_path / "r", 2)
    assert json.loads((tmp_path / "r" / "run.json").read_text())["run"]["precision"] == "32"


def test_cpu_float16_autocast_works_here_and_its_absence_is_a_one_line_error(monkeypatch):
    check_device("16", torch.device("cpu"))  # torch 2.13: CPU autocast takes float16
    import vegan.train.precision as precision

    monkeypatch.setattr(precision, "autocast_supported", lambda device_type, dtype: False)
    with pytest.raises(ConfigError) as info:
        check_device("16", torch.device("cpu"))
    assert "use precision=bf16 on the CPU" in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------ resume


def test_bf16_resume_is_bit_identical_and_differs_from_float32(tmp_path):
    one, two, f32 = tmp_path / "one", tmp_path / "two", tmp_path / "f32"
    common = {"seed": 3, "checkpoint_every": 4, "keep_checkpoints": 10}
    _fit("wae-mmd", "mnist", one, 12, precision="bf16", **common)
    _fit("wae-mmd", "mnist", two, 8, precision="bf16", **common)
    # Cut the second run back to step 4 (mid-epoch), then resume it to 12.
    for suffix in (".json", ".safetensors"):
        (two / "checkpoints" / f"step-00000008{suffix}").unlink()
    vegan.fit("wae-mmd", "mnist", two, steps=12, resume=True, progress=False, device="cpu")
    _fit("wae-mmd", "mnist", f32, 12, precision="32", **common)
    (_, t1), (_, t2), (_, t3) = (_tensors(r, 12) for r in (one, two, f32))
    assert t1.keys() == t2.keys() and any(k.startswith("optim/") for k in t1)
    for key in t1:
        assert torch.equal(t1[key], t2[key]), key
    weights = [k for k in t1 if k.startswith("model/") and t1[k].is_floating_point()]
    # Autocast changed the arithmetic: the float32 run ends elsewhere, but nearby.
    assert any(not torch.equal(t1[k], t3[k]) for k in weights)
    for k in weights:
        assert t1[k].dtype == torch.float32  # weights stay float32 under autocast
        assert torch.allclose(t1[k], t3[k], atol=0.05), k


def test_resume_with_another_precision_is_refused_and_writes_nothing(tmp_path):
    run = tmp_path / "run"
    _fit("ae", "toy:8gaussians", run, 3, precision="bf16")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in run.rglob("*"))
    with pytest.raises(ConfigError) as info:
        vegan.fit("ae", "toy:8gaussians", run, steps=6, resume=True, precision="32", progress=False)
    msg = str(info.value)
    assert "\n" not in msg and "precision=bf16" in msg and "asked 32" in msg
    assert sorted((p.name, p.stat().st_mtime_ns) for p in run.rglob("*")) == before
    # Given again (or not at all) it resumes.
    _, result = vegan.fit("ae", "toy:8gaussians", run, steps=6, resume=True, progress=False)
    assert result.step == 6


def test_loop_refuses_a_checkpoint_of_another_precision(tmp_path):
    """The loop's own check: a checkpoint whose precision is not the run's (a mixed-up folder)."""
    run = tmp_path / "run"
    _fit("ae", "toy:8gaussians", run, 2, precision="16")
    info = json.loads((run / "run.json").read_text())
    info["run"]["precision"] = "32"  # run.json now disagrees with its checkpoint
    (run / "run.json").write_text(json.dumps(info))
    before = sorted((p.name, p.stat().st_mtime_ns) for p in run.rglob("*"))
    with pytest.raises(ConfigError, match="precision=16") as caught:
        vegan.fit("ae", "toy:8gaussians", run, steps=4, resume=True, progress=False)
    assert "\n" not in str(caught.value)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in run.rglob("*")) == before


def test_fp16_checkpoints_carry_the_scaler_state_and_resume_bit_identically(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    # The bare defaults: one adversary step per step and a constant rate (the toy preset's
    # cosine decay runs over the run's total, so a 2-step run resumed to 6 is another run).
    common = {"seed": 1, "checkpoint_every": 2, "keep_checkpoints": 10, "precision": "16"}
    common["preset"] = "none"
    _fit("wae-gan", "toy:8gaussians", one, 6, **common)
    _fit("wae-gan", "toy:8gaussians", two, 2, **common)
    meta, _ = _tensors(two, 2)
    scalers = meta["scalers"]
    assert set(scalers) == {"autoencoder", "adversary"}
    for state in scalers.values():
        # GradScaler's rules: the scale starts at 2^16 and only halves or doubles; the
        # growth counter counts the steps since the last overflow (2 steps so far).
        assert math.log2(state["scale"]).is_integer() and state["scale"] <= 2.0**16
        assert state["growth_tracker"] <= 2
        assert state["scale"] == 2.0**16 or state["growth_tracker"] < 2
    vegan.fit("wae-gan", "toy:8gaussians", two, steps=6, resume=True, progress=False, preset="none")
    for step in (4, 6):
        (m1, t1), (m2, t2) = _tensors(one, step), _tensors(two, step)
        assert m1["scalers"] == m2["scalers"]
        for key in t1:
            assert torch.equal(t1[key], t2[key]), (step, key)
    # Float32 and bf16 runs have no scaler state.
    _fit("ae", "toy:8gaussians", tmp_path / "b", 2, precision="bf16")
    assert "scalers" not in _tensors(tmp_path / "b", 2)[0]


def test_fp16_resume_reads_the_saved_scale(tmp_path):
    """A scale edited in the checkpoint is the one the resumed run continues from."""
    run = tmp_path / "run"
    _fit("ae", "toy:8gaussians", run, 2, precision="16", checkpoint_every=2)
    path = run / "checkpoints" / "step-00000002.json"
    meta = json.loads(path.read_text())
    meta["scalers"]["autoencoder"] = {"scale": 1024.0, "growth_tracker": 5}
    path.write_text(json.dumps(meta))
    vegan.fit("ae", "toy:8gaussians", run, steps=3, resume=True, progress=False)
    state = _tensors(run, 3)[0]["scalers"]["autoencoder"]
    # One more step without overflow (a loss near 1 scaled by 1024 cannot overflow
    # float16 in these tiny networks): the counter goes on from 5, the scale stays.
    assert state == {"scale": 1024.0, "growth_tracker": 6}
    meta["scalers"]["autoencoder"] = {"scale": -1.0, "growth_tracker": 0}
    path.write_text(json.dumps(meta))
    (run / "checkpoints" / "step-00000003.json").unlink()
    with pytest.raises(CheckpointError, match="gradient-scaler state"):
        vegan.fit("ae", "toy:8gaussians", run, steps=4, resume=True, progress=False)


def test_scaler_skips_an_overflowing_step_halves_the_scale_and_reports_collapse():
    w = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([w], lr=0.1)
    amp = MixedPrecision("16", torch.device("cpu"), 1)
    # A float32 gradient of 1e35 times the scale 2^16 is inf: the step is skipped.
    amp.backward(0, w.sum() * 1e35)
    amp.unscale(0, opt)
    assert amp.step(0, opt) is True
    assert torch.equal(w.detach(), torch.ones(3))
    assert amp.state(["p"]) == {"p": {"scale": 2.0**15, "growth_tracker": 0}}
    # A finite step is taken on the unscaled gradient: w - lr * 1.
    opt.zero_grad()
    amp.backward(0, w.sum())
    amp.unscale(0, opt)
    assert amp.step(0, opt) is True
    assert torch.allclose(w.detach(), torch.full((3,), 0.9))
    assert amp.state(["p"]) == {"p": {"scale": 2.0**15, "growth_tracker": 1}}
    # At the floor, one more overflow collapses the scale: the loop stops the run.
    amp.load({"p": {"scale": MIN_SCALE, "growth_tracker": 0}}, ["p"], "test")
    opt.zero_grad()
    amp.backward(0, w.sum() * math.inf)
    amp.unscale(0, opt)
    assert amp.step(0, opt) is False


# ------------------------------------------------------------------ float32 terms


@pytest.fixture
def in_step(monkeypatch):
    """A flag that is True while Trainer.train_step runs (not during the probe or callbacks)."""
    flag = {"on": False}
    original = Trainer.train_step

    def train_step(self):
        flag["on"] = True
        try:
            return original(self)
        finally:
            flag["on"] = False

    monkeypatch.setattr(Trainer, "train_step", train_step)
    return flag


def _record_layers(model_parts, log, in_step, tag):
    def hook(module, inputs, output):
        if in_step["on"]:
            log.append((tag(), type(module).__name__, output.dtype))

    for part in model_parts:
        for m in part.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
                m.register_forward_hook(hook)


def test_bf16_step_runs_networks_in_bf16_and_mmd_and_cost_in_float32(
    tmp_path, monkeypatch, in_step
):
    import vegan.models.kernels as kernels
    import vegan.ot.costs as costs
    from vegan.models.penalties import MMDPenalty

    seen: dict[str, list] = {"sqdist": [], "paired": [], "mmd_error": [], "layers": []}
    sqdist, paired = kernels._sqdist, costs._l2sq_paired

    def spy_sqdist(x, y):
        if in_step["on"] and not oracle["on"]:
            seen["sqdist"].append((x.dtype, autocast_enabled("cpu")))
        return sqdist(x, y)

    def spy_paired(x, y):
        if in_step["on"]:
            seen["paired"].append((x.dtype, y.dtype, autocast_enabled("cpu")))
        return paired(x, y)

    forward = MMDPenalty.forward

    def spy_forward(self, enc, prior):
        value = forward(self, enc, prior)
        if in_step["on"]:
            # Oracle: the same estimate in float64 from the same codes and prior draws.
            state = torch.get_rng_state()
            torch.set_rng_state(draw_state[0])
            z, zp = enc.z.detach().double(), prior.sample(enc.z.shape[0]).double()
            torch.set_rng_state(state)
            oracle["on"] = True
            c = 2.0 * prior.dim * prior.variance
            ref = kernels.mmd(z, zp, self.kernel, self.scales, c)
            oracle["on"] = False
            seen["mmd_error"].append((value.dtype, abs(float(value.detach()) - float(ref))))
        return value

    draw_state, oracle = [None], {"on": False}
    sample = vegan.models.priors.GaussianPrior.sample

    def spy_sample(self, n, generator=None):
        draw_state[0] = torch.get_rng_state()
        return sample(self, n, generator)

    monkeypatch.setattr(kernels, "_sqdist", spy_sqdist)
    monkeypatch.setattr(costs, "_l2sq_paired", spy_paired)
    monkeypatch.setattr(costs.l2sq, "_paired", spy_paired)
    monkeypatch.setattr(MMDPenalty, "forward", spy_forward)
    monkeypatch.setattr(vegan.models.priors.GaussianPrior, "sample", spy_sample)

    class Hooks:
        def on_start(self, run):
            _record_layers(
                [run.model.encoder, run.model.decoder], seen["layers"], in_step, lambda: ""
            )

    _fit("wae-mmd", "mnist", tmp_path / "r", 2, precision="bf16", callbacks=[Hooks()])
    assert seen["sqdist"] and all(s == (torch.float32, False) for s in seen["sqdist"])
    assert seen["paired"] and all(
        s == (torch.float32, torch.float32, False) for s in seen["paired"]
    )
    assert {kind for _, kind, _ in seen["layers"]} >= {"Conv2d", "ConvTranspose2d", "Linear"}
    assert all(dtype == torch.bfloat16 for _, _, dtype in seen["layers"])
    # Computed in float32, the MMD is the float64 one to float32 rounding (bfloat16's
    # 8 bits would be off by about 1e-2 of the value).
    for dtype, err in seen["mmd_error"]:
        assert dtype == torch.float32 and err < 1e-5


def test_bf16_sinkhorn_and_sliced_penalties_are_float32(tmp_path, monkeypatch, in_step):
    sinkhorn = importlib.import_module("vegan.ot.sinkhorn")  # vegan.ot.sinkhorn is also a function
    sliced = importlib.import_module("vegan.ot.sliced")

    seen: dict[str, list] = {"sinkhorn": [], "sliced": []}
    entropic, w1d = sinkhorn._entropic_ot, sliced.wasserstein_1d_batch

    def spy_entropic(C, *args, **kwargs):
        if in_step["on"]:
            seen["sinkhorn"].append((C.dtype, autocast_enabled("cpu")))
        return entropic(C, *args, **kwargs)

    def spy_w1d(px, py, *args, **kwargs):
        if in_step["on"]:
            seen["sliced"].append((px.dtype, py.dtype, autocast_enabled("cpu")))
        return w1d(px, py, *args, **kwargs)

    monkeypatch.setattr(sinkhorn, "_entropic_ot", spy_entropic)
    monkeypatch.setattr(sliced, "wasserstein_1d_batch", spy_w1d)
    _fit("sinkhorn-wae", "mnist", tmp_path / "s", 2, precision="bf16", sinkhorn_iters=5)
    _fit("swae", "mnist", tmp_path / "w", 2, precision="bf16")
    # Sinkhorn computes in float64 by default, sliced in float32: never in bfloat16.
    assert seen["sinkhorn"] and all(s == (torch.float64, False) for s in seen["sinkhorn"])
    assert seen["sliced"] and all(
        s == (torch.float32, torch.float32, False) for s in seen["sliced"]
    )


def test_bf16_gradient_penalty_runs_the_critic_in_float32(tmp_path, monkeypatch, in_step):
    import vegan.models.dual as dual

    inside = {"gp": False}
    layers: list = []
    values: list = []
    penalty = dual.gradient_penalty

    def spy_penalty(critic, real, fake, weight):
        inside["gp"] = True
        try:
            value = penalty(critic, real, fake, weight)
        finally:
            inside["gp"] = False
        values.append(value.dtype)
        return value

    class Hooks:
        def on_start(self, run):
            _record_layers([run.model.parts["critic"]], layers, in_step, lambda: inside["gp"])

    monkeypatch.setattr(dual, "gradient_penalty", spy_penalty)
    _fit("wgan-gp", "mnist", tmp_path / "r", 1, precision="bf16", n_critic=1, callbacks=[Hooks()])
    in_gp = {dtype for gp, _, dtype in layers if gp}
    outside = {dtype for gp, _, dtype in layers if not gp}
    assert in_gp == {torch.float32} and outside == {torch.bfloat16}
    assert values and set(values) == {torch.float32}


def test_bf16_kl_and_likelihood_terms_are_float32(tmp_path, monkeypatch, in_step):
    from vegan.models.decoders import BernoulliDecoder
    from vegan.models.penalties import KLPenalty

    seen: dict[str, list] = {"nll": [], "kl": []}
    nll, kl = BernoulliDecoder.nll, KLPenalty.forward

    def spy_nll(self, x, h):
        if in_step["on"]:
            seen["nll"].append((x.dtype, h.dtype, autocast_enabled("cpu")))
        return nll(self, x, h)

    def spy_kl(self, enc, prior):
        value = kl(self, enc, prior)
        if in_step["on"]:
            mean, logvar = enc.mean.detach().double(), enc.logvar.detach().double()
            ref = 0.5 * (logvar.exp() + mean**2 - 1.0 - logvar).sum(1).mean()  # N(0, I) prior
            seen["kl"].append((value.dtype, abs(float(value.detach()) - float(ref)) / float(ref)))
        return value

    monkeypatch.setattr(BernoulliDecoder, "nll", spy_nll)
    monkeypatch.setattr(KLPenalty, "forward", spy_kl)
    _fit("vae", "mnist", tmp_path / "r", 2, precision="bf16")
    assert seen["nll"] and all(s == (torch.float32, torch.float32, False) for s in seen["nll"])
    assert seen["kl"] and all(d == torch.float32 and rel < 1e-5 for d, rel in seen["kl"])


def test_evaluation_and_sampling_stay_float32(tmp_path):
    states: list = []

    class Probe:
        def on_epoch_end(self, run):
            states.append(autocast_enabled("cpu"))

        def on_log(self, run, record):
            states.append(autocast_enabled("cpu"))

    model, _ = _fit("wae-mmd", "mnist", tmp_path / "r", 3, precision="bf16", callbacks=[Probe()])
    assert states and not any(states)
    assert model.sample(4).dtype == torch.float32
    assert not autocast_enabled("cpu")
    loaded = vegan.load(tmp_path / "r")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())


# ------------------------------------------------------------------ every recipe


@pytest.mark.parametrize("data", ["toy:8gaussians", "mnist"])
@pytest.mark.parametrize("recipe", [r.name for r in list_recipes() if r.built_in])
def test_every_recipe_trains_three_bf16_steps_without_nan(tmp_path, recipe, data):
    _, result = _fit(recipe, data, tmp_path / "r", 3, precision="bf16")
    losses = {k: v for k, v in result.last.items() if "/" in k and not k.endswith("/lr")}
    assert result.step == 3 and losses
    assert all(math.isfinite(v) for v in losses.values()), losses
