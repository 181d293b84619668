"""Ingredients and recipes: one model (a prior and a generator), many recipes.

Ingredients: priors (:mod:`~vegan.models.priors`), encoders
(:mod:`~vegan.models.encoders`), decoders (:mod:`~vegan.models.decoders`),
fit terms (:mod:`~vegan.models.fits`), latent penalties
(:mod:`~vegan.models.penalties`, :mod:`~vegan.models.kernels`).
The game (:mod:`~vegan.models.game`) is a list of players. Recipes combine
the ingredients and define their game (:mod:`~vegan.models.primal`,
:mod:`~vegan.models.adversarial`, :mod:`~vegan.models.dual`); they are looked
up in :mod:`~vegan.models.registry`, with their options resolved for the data
by :mod:`~vegan.models.presets`.
"""

from vegan.models.decoders import BernoulliDecoder, DeterministicDecoder, GaussianDecoder
from vegan.models.encoders import DeterministicEncoder, Encoding, GaussianEncoder, ImplicitEncoder
from vegan.models.fits import CostFit, NLLFit
from vegan.models.game import Player
from vegan.models.kernels import mmd
from vegan.models.model import GenerativeModel
from vegan.models.penalties import KLPenalty, MMDPenalty, SinkhornPenalty, SlicedPenalty
from vegan.models.priors import GaussianPrior, SpherePrior, UniformBoxPrior, make_prior
from vegan.models.registry import Recipe, build, get_recipe, list_recipes, make_config

__all__ = [
    "GenerativeModel",
    "Player",
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
