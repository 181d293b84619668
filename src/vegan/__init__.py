"""vegan: the VEGAN cookbook as software.

Latent-variable generative models from the optimal-transport point of view
(Bousquet et al. 2017, "From optimal transport to generative modeling: the
VEGAN cookbook"; Tolstikhin et al. 2018, "Wasserstein Auto-Encoders"): one
model (a prior P_Z and a generator P_G(Y|Z)), many recipes (VAE, AVB, AAE,
POT/WAE-GAN, WAE-MMD, SWAE, Sinkhorn-WAE, GAN, WGAN, WGAN-GP), and optimal
transport to measure them.

Subpackages: ``vegan.ot`` (transport toolkit), ``vegan.data`` (datasets),
``vegan.nets`` (backbones), ``vegan.models`` (ingredients and recipes),
``vegan.train`` (the players' loop and checkpoints), ``vegan.eval``
(metrics and reports), ``vegan.experiments`` (the paper's theory, checked).
"""

__version__ = "0.1.0"

from vegan.errors import VeganError  # noqa: E402

_LAZY = {
    "fit": "vegan.api",
    "load": "vegan.api",
    "build": "vegan.models.registry",
    "recipes": "vegan.models.registry",
    "presets": "vegan.models.presets",
    "wasserstein": "vegan.ot",
    "load_dataset": "vegan.data",
}


def __getattr__(name: str):
    """Import the top-level shortcuts lazily (``vegan.fit``, ``vegan.load``, ...)."""
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        attr = {"recipes": "list_recipes", "presets": "list_presets"}.get(name, name)
        return getattr(module, attr)
    raise AttributeError(f"module 'vegan' has no attribute '{name}'")


def __dir__() -> list[str]:
    """The module's names with the lazy shortcuts, so completion finds ``vegan.fit``."""
    return sorted({*globals(), *_LAZY})


__all__ = ["VeganError", "__version__", *_LAZY]
