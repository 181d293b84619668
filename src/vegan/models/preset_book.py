"""The built-in presets, one per family of data (see :mod:`vegan.models.presets`).

Each value says where it comes from. "measured" values were chosen with
``bench/bench_quality_toy.py`` (2-D toys) and ``bench/bench_quality.py``
(MNIST); the tables are in BENCHMARKS.md and docs/choosing-settings.md.
"""

from __future__ import annotations

from vegan.models.presets import preset

preset(
    "toy",
    "toy",
    "low-dimensional vectors (the 2-D toys): MLPs, batch and rates for 2-D mixtures",
    "vegan's measurements on toy:8gaussians / 25gaussians / swissroll (bench_quality_toy.py)",
    recipes={
        "wgan-gp": {
            "hidden": 512,
            "depth": 3,
            "gp_weight": 0.1,
            "lr": 1e-4,
            "critic_lr": 1e-4,
            "beta1": 0.5,
            "beta2": 0.9,
            "batch_size": 256,
            "n_critic": 5,
        },
    },
    sources={
        "wgan-gp": "the WGAN-GP authors' toy script (gan_toy.py: 3 x 512 MLPs, penalty weight "
        "0.1, Adam 1e-4 with betas (0.5, 0.9), batch 256, 5 critic steps)",
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
    "28 x 28 grayscale images: the WAE paper's MNIST settings",
    "the WAE paper's MNIST configuration (tolstikhin/wae, configs.py) for the auto-encoders; "
    "DCGAN, WGAN and WGAN-GP papers for the dual recipes",
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
    },
    sources={
        "wae-gan": "the WAE paper's CelebA configuration (lr 3e-4, adversary 1e-3); lambda = 1 "
        "from a third-party port (not confirmed in the paper)",
    },
)
