"""The negative evidence lower bound on held-out data, eq. (5) (and eq. (6) for AVB).

For an encoder Q(Z|X), a random decoder P_G(X|Z) and the prior P_Z,

    -ELBO(x) = E_{z ~ Q(Z|X=x)} [-log p_G(x|z)] + KL(Q(Z|X=x), P_Z)   >= -log p_G(x).

* Gaussian encoder, Gaussian prior (the VAE): the expectation is a Monte
  Carlo average over ``samples`` draws of z per image, the KL is the closed
  form of :class:`vegan.models.penalties.KLPenalty`.
* Implicit encoder (AVB): q(z|x) has no density; the KL is estimated with
  the recipe's discriminator T(x, z) (``model.parts["critic"]``), whose
  optimum is log q(z|x) - log p(z), so -ELBO ~ E_z [-log p_G(x|z) + KL(x, z)]
  with KL(x, z) the recipe's own estimate (T, or its adaptive-contrast form,
  :func:`vegan.models.adversarial.avb_kl_and_contrast`; Mescheder et al.
  2017). It is an estimate, only as good as T.

Values are in nats per image (summed over pixels, averaged over images).
"""

from __future__ import annotations

import math

import torch

#: Monte Carlo draws of z per held-out image.
ELBO_SAMPLES = 4


def elbo_unavailable(model) -> str | None:
    """Why the -ELBO cannot be computed for ``model``, or None when it can."""
    from vegan.models.priors import GaussianPrior

    enc, dec = model.encoder, model.decoder
    if enc is None:
        return "dual recipe: no encoder, no ELBO"
    if getattr(dec, "kind", "deterministic") == "deterministic":
        return "deterministic decoder: p_G(x|z) has no density, no ELBO"
    if enc.kind == "gaussian":
        if not isinstance(model.prior, GaussianPrior):
            return "the closed-form KL needs a Gaussian prior"
        return None
    if enc.kind == "implicit":
        if _avb_discriminator(model) is None:
            return "implicit encoder without a discriminator T(x, z): the KL cannot be estimated"
        return None
    return "deterministic encoder: KL(Q(Z|X=x), P_Z) is infinite, no ELBO"


def _avb_discriminator(model):
    """AVB's T(x, z), or None."""
    parts = getattr(model, "parts", {})
    return parts["critic"] if model.recipe == "avb" and "critic" in parts else None


@torch.inference_mode()
def negative_elbo(
    model, x: torch.Tensor, samples: int = ELBO_SAMPLES, seed: int = 0, batch_size: int = 500
) -> float:
    """Mean -ELBO over images x (nats), with ``samples`` draws of z per image."""
    why = elbo_unavailable(model)
    if why is not None:
        raise ValueError(why)
    enc, dec, prior = model.encoder, model.decoder, model.prior
    device = model.device
    was = model.training
    model.eval()
    total = 0.0
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            for i in range(0, len(x), batch_size):
                xb = x[i : i + batch_size].to(device, torch.float32)
                per = torch.zeros(len(xb), dtype=torch.float64, device=device)
                if enc.kind == "gaussian":
                    h = enc(xb, sample=False)
                    s2 = prior.scale**2
                    kl = 0.5 * (
                        (h.logvar.exp() + h.mean.pow(2)) / s2 - 1.0 - h.logvar + math.log(s2)
                    ).sum(1)
                    for _ in range(samples):
                        z = h.mean + torch.randn_like(h.mean) * (0.5 * h.logvar).exp()
                        per += dec.nll(xb, dec(z)).double() / samples
                    per += kl.double()
                else:
                    from vegan.models.adversarial import avb_codes, avb_kl_and_contrast

                    t = _avb_discriminator(model)
                    cfg = model.config
                    k = cfg.ac_samples if getattr(cfg, "adaptive_contrast", False) else 0
                    for _ in range(samples):
                        z, mean, std = avb_codes(enc, xb, k)
                        kl, _ = avb_kl_and_contrast(t, prior, xb, z, mean, std)
                        per += (dec.nll(xb, dec(z)) + kl.reshape(-1)).double() / samples
                total += float(per.sum())
    finally:
        model.train(was)
    return total / len(x)


__all__ = ["ELBO_SAMPLES", "elbo_unavailable", "negative_elbo"]
