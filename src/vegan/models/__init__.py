"""Ingredients and recipes (DESIGN.md: one model, many recipes).

Ingredients: priors (:mod:`~vegan.models.priors`), encoders
(:mod:`~vegan.models.encoders`), decoders (:mod:`~vegan.models.decoders`),
fit terms (:mod:`~vegan.models.fits`), latent penalties
(:mod:`~vegan.models.penalties`, :mod:`~vegan.models.kernels`).
Recipes combine them (:mod:`~vegan.models.primal` and the adversarial ones)
and are looked up in :mod:`~vegan.models.registry`.
"""

from vegan.models.decoders import BernoulliDecoder, DeterministicDecoder, GaussianDecoder
from vegan.models.encoders import DeterministicEncoder, Encoding, GaussianEncoder, ImplicitEncoder
from vegan.models.fits import CostFit, NLLFit
from vegan.models.kernels import mmd
from vegan.models.model import GenerativeModel
from vegan.models.penalties import KLPenalty, MMDPenalty, SinkhornPenalty, SlicedPenalty
from vegan.models.priors import GaussianPrior, SpherePrior, UniformBoxPrior, make_prior
from vegan.models.registry import Recipe, build, get_recipe, list_recipes, make_config

__all__ = [
    "GenerativeModel",
    "Recipe",
    "build",
    "get_recipe",
    "list_recipes",
    "make_config",
    "GaussianPrior",
    "UniformBoxPrior",
    "SpherePrior",
    "make_prior",
    "DeterministicEncoder",
    "GaussianEncoder",
    "ImplicitEncoder",
    "Encoding",
    "DeterministicDecoder",
    "GaussianDecoder",
    "BernoulliDecoder",
    "CostFit",
    "NLLFit",
    "KLPenalty",
    "MMDPenalty",
    "SlicedPenalty",
    "SinkhornPenalty",
    "mmd",
]
