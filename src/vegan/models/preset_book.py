"""The built-in presets, one per family of data (see :mod:`vegan.models.presets`).

Each value says where it comes from. "measured" values were chosen with
``bench/bench_quality_toy.py`` (2-D toys) and ``bench/bench_quality_mnist.py``
(MNIST, several seeds at the zoo's 2-minute step counts; the single runs that
chose the dual settings are in bench/quality_notes_mnist.md); the tables are in
BENCHMARKS.md and docs/choosing-settings.md.
"""

from __future__ import annotations

from vegan.models.presets import preset

#: Kernel scales s of the toy WAE-MMD (C = 2 d_z sigma_z^2 s): down to 0.01, where the
#: WAE paper's (0.1 to 10) stop at a length of about 0.6 in a 2-D code space.
TOY_KERNEL_SCALES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)

#: The toy auto-encoders' common settings: a random (implicit) encoder, batches of 256
#: and a cosine decay of the rates over the run; with an unscaled squared cost (_TOY_AE).
_TOY_RANDOM = {"encoder": "implicit", "batch_size": 256, "schedule": "cosine"}
_TOY_AE = {**_TOY_RANDOM, "cost_scale": 1.0}

#: A latent adversary that keeps up with the encoder (WAE-GAN and the AAE).
_TOY_ADVERSARY = {"adv_steps": 5, "adv_lr": 1e-3}

#: The toy VAE's settings (rate, batch, decay, KL annealing), shared by AVB.
_TOY_VAE = {"lr": 2e-3, "batch_size": 256, "schedule": "cosine", "lam_warmup": 2000}

preset(
    "toy",
    "toy",
    "low-dimensional vectors (the 2-D toys): MLPs, batch and rates for 2-D mixtures",
    "vegan's measurements on toy:8gaussians and toy:25gaussians (bench/bench_quality_toy.py, "
    "tables in BENCHMARKS.md 'Quality on toy data')",
    recipes={
        "gan": {"lr": 1e-3, "critic_lr": 1e-3, "batch_size": 256, "schedule": "cosine"},
        "wgan-gp": {
            "hidden": 512,
            "depth": 3,
            "gp_weight": 0.1,
            "lr": 1e-3,
            "critic_lr": 1e-3,
            "beta1": 0.5,
            "beta2": 0.9,
            "batch_size": 256,
            "n_critic": 5,
            "schedule": "cosine",
        },
        "wgan": {"lr": 5e-4, "critic_lr": 5e-4, "clip": 0.05, "schedule": "cosine"},
        "wae-mmd": {**_TOY_AE, "kernel_scales": TOY_KERNEL_SCALES},
        "swae": dict(_TOY_AE),
        "sinkhorn-wae": {**_TOY_AE, "epsilon": 0.005, "sinkhorn_iters": 100},
        "vae": dict(_TOY_VAE),
        "avb": {**_TOY_VAE, "encoder": "gaussian"},
        "wae-gan": {**_TOY_AE, **_TOY_ADVERSARY},
        # the AAE's fit is the NLL, not the cost: no cost_scale
        "aae": {
            **_TOY_RANDOM,
            **_TOY_ADVERSARY,
            "decoder": "gaussian",
            "sigma": 0.02,
            "learn_sigma": False,
            "lam": 12500.0,
        },
    },
    sources={
        "gan": "measured: rates 1e-3 for both players, batch 256 and a cosine decay over "
        "10,000 steps take toy:25gaussians from 4/25 to 24-25/25 modes (3,000 steps: 15 to 25)",
        "wgan-gp": "the WGAN-GP authors' toy script (gan_toy.py: 3 x 512 MLPs, penalty weight "
        "0.1, Adam betas (0.5, 0.9), batch 256, 5 critic steps) with measured rates 1e-3 and "
        "a cosine decay (1e-4 is too slow for a few thousand steps); weight 10 leaves a blob; "
        "3,000 steps (the grid of 25: 22/25 modes, 38 % near a mode after 1,000; 25/25, 89.5 % "
        "after 3,000)",
        "wgan": "measured: the best clipped critic found (clip 0.05, RMSProp 5e-4, cosine); "
        "a clipped critic cannot resolve 0.02-wide modes (WGAN-GP paper, Figure 1)",
        "wae-mmd": "measured: a random (implicit) encoder, cost_scale 1, kernel scales down to "
        "0.01 and batch 256 (a deterministic encoder maps each mode to one code)",
        "swae": "measured: the toy auto-encoder settings of wae-mmd, for 20,000 steps (the grid "
        "of 25 needs them: 66 % of samples near a mode after 10,000, 81 % after 20,000)",
        "sinkhorn-wae": "measured: the toy auto-encoder settings with epsilon 0.005 "
        "(finer transport, as the MMD's finer kernel scales) and 100 iterations, for 10,000 "
        "steps (the grid of 25: 52 % of samples near a mode after 5,000, 77 % after 10,000)",
        "vae": "measured: rate 2e-3 decayed (cosine) over 10,000 steps of 256 lets the learned "
        "decoder sigma fall from 1 to the modes' width (0.025): 8/8 modes instead of 0/8; "
        "3e-3 collapsed one seed in three; the KL's weight rises from 0 over the first 2,000 "
        "steps (KL annealing): on toy:25gaussians 25/25 modes for 3 seeds where 2 of 3 "
        "collapsed onto the prior without it",
        "avb": "measured: the toy VAE's settings with AVB's Gaussian encoder (with adaptive "
        "contrast its KL is then exact and T learns the remainder): 7/8 modes at 39 % on "
        "toy:8gaussians and 24/25 at 56 % on toy:25gaussians, where the implicit encoder "
        "stays at 0/8 (its learned decoder sigma grows to 0.15)",
        "wae-gan": "measured: the toy auto-encoder settings of wae-mmd with an adversary that "
        "keeps up with the encoder (5 steps at 1e-3 per encoder step): the codes spread "
        "over the prior instead of collapsing onto one point per mode, which one step at "
        "5e-4 (the WAE paper's MNIST setting) cannot undo: 8/8 modes at 91 % on "
        "toy:8gaussians (seeds 0 to 2) and 25/25 at 73.6 % on toy:25gaussians (seeds 0 to "
        "2: 64.0, 80.6, 73.6 %), where the defaults have 0/8 and 0/25",
        "aae": "measured: WAE-GAN's toy settings in the AAE's terms: a fixed decoder sigma of "
        "0.02 (the modes' width) makes -log p_G(x|z) the squared error times 1/(2 sigma^2) = "
        "1,250, and lambda 12,500 restores WAE-GAN's balance of 10 between the adversary and "
        "the fit (Adam does not see the common factor): 8/8 modes at 82.5 % on toy:8gaussians "
        "(3 seeds) and 25/25 at 83 and 81 % on toy:25gaussians (seeds 0 and 1), where the "
        "defaults (a learned sigma, lambda 1) have 0/8 and 1/25",
    },
    # The run lengths these values were measured at (BENCHMARKS.md), used when no
    # --epochs/--steps is given: the default 10 epochs are about 300 steps on 8,000
    # points, too few for any of them.
    steps={
        "gan": 10000,
        "wgan-gp": 3000,
        "wgan": 3000,
        "wae-mmd": 10000,
        "swae": 20000,
        "sinkhorn-wae": 10000,
        "vae": 10000,
        "avb": 10000,
        "wae-gan": 10000,
        "aae": 10000,
    },
)

preset(
    "vectors",
    "vectors",
    "vectors of more than 16 dimensions (a user's features): the recipes' defaults with MLPs",
    "the recipes' defaults (no family-specific measurement yet)",
)

preset(
    "mnist",
    "mnist",
    "28 x 28 grayscale images: the WAE paper's MNIST settings; the VAE, AVB, the AAE and the "
    "dual recipes tuned for short runs",
    "the WAE paper's MNIST configuration (tolstikhin/wae, configs.py) for the auto-encoders "
    "(the recipes' defaults); measured settings "
    "(bench/bench_quality_mnist.py and bench/quality_notes_mnist.md: 2,000 held-out images, "
    "feature FD) where the papers' lose at a budget of minutes",
    recipes={
        "vae": {"latent_dim": 16, "lr": 2e-3, "schedule": "cosine"},
        "aae": {"lam": 100.0},
        "avb": {"lr": 2e-3},
        "wgan-gp": {"n_critic": 1, "lr": 2e-4, "critic_lr": 2e-4, "beta1": 0.0, "beta2": 0.9},
        "wgan": {"critic_boost": False, "n_critic": 1, "lr": 2e-4, "critic_lr": 2e-4},
    },
    sources={
        "vae": "measured (3 seeds, the zoo's 2,199 steps): 16 latent dimensions, rate 2e-3 "
        "decayed (cosine) over the run: feature FD 88.2 (84.0 to 92.2) against 136.3 (104.8 "
        "to 146.8) with the paper's d_z 8 and a constant 1e-3; each lever alone misses 100 "
        "(d_z 16: 103.8; cosine: 121.5; both at 1e-3: 100.3)",
        "aae": "measured (the zoo's 1,555 steps): lambda 100 weighs the adversary as much as "
        "the Bernoulli fit's ~100 nats an image, where lambda 1 (eq. (7)) leaves it no grip on "
        "the codes: feature FD 97.0 over 6 seeds (71.9 to 136.8), better than lambda 1 on each "
        "of the 3 seeds both ran (103.6, 93.2, 201.7 against 71.9, 83.1, 136.4); lambda 30, 300 "
        "and 1,000 gave medians 112.7, 161.9 and 145.4",
        "avb": "measured (the zoo's 973 steps): rate 2e-3, as the VAE's: feature FD 87.4 over "
        "6 seeds (65.0 to 116.7) against 119.1 (109.2 to 139.6) with 1e-3, better on each of "
        "the 3 seeds both ran (70.2, 105.5, 92.0 against 109.2, 139.6, 119.1), precision 0.75 "
        "against 0.79; 16 or 32 latent dimensions give FD 60 and 66 with precision 0.47/0.46 "
        "(sharp strokes, many not digits), a Gaussian encoder 160.8, a cosine decay 150.6",
        "wgan-gp": "measured: one critic step per generator step at rates 2e-4 (the paper's 5 "
        "critic steps leave a fifth of the generator steps in a fixed time): feature FD 44 "
        "against 271 with the paper's settings, same 2 minutes",
        "wgan": "measured: no 100-step critic boost, one critic step, RMSProp 2e-4: FD 75 "
        "against 365 with the reference code's settings, same 2 minutes",
    },
)

preset(
    "rgb32",
    "rgb32",
    "32 x 32 color images: DCGAN-style networks of width 64",
    "DCGAN (Radford et al. 2016) for CIFAR-10-sized images: filters 64 to 256",
    common={"width": 64},
)

preset(
    "celeba64",
    "rgb64",
    "64 x 64 color images: the WAE paper's CelebA settings",
    "the WAE paper's CelebA configuration (Tolstikhin et al. 2018: latent 64, filters up to "
    "1024, lambda 100 for WAE-MMD, rates 1e-3 / 3e-4, adversary 1e-3, batch 100)",
    common={"latent_dim": 64, "width": 128, "batch_size": 100},
    recipes={
        "wae-mmd": {"lam": 100.0, "lr": 1e-3},
        "wae-gan": {"lam": 1.0, "lr": 3e-4, "adv_lr": 1e-3},
        "wgan": {"critic_boost": False},
    },
    sources={
        "wae-gan": "the WAE paper's CelebA configuration (lr 3e-4, adversary 1e-3); lambda = 1 "
        "from a third-party port (not confirmed in the paper)",
        "wgan": "the WAE paper's CelebA widths; no 100-step critic boosts (as the mnist "
        "preset, where they left few generator steps in minutes; at this width on a 2-core "
        "CPU the first boosted step alone would take about 25 minutes)",
    },
)
