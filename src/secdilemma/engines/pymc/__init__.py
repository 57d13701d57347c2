"""The full Bayesian engine: PyMC models with the discrete type summed out exactly, sampled
with nutpie (default) or PyMC's NUTS; diagnostics, predictive checks and model comparison.

:class:`PerceptionModel` turns a :class:`~secdilemma.spec.ModelSpec` into a PyMC model whose
likelihood is the generative model of :mod:`secdilemma.model` written in PyTensor. Several
dyads share the reaction coefficients; the parameters listed in ``priors.hierarchical`` vary
by dyad with partial pooling (non-centred). A switching (Markov) type
(``[types] switching = { persistence = p }``) follows the exact observer's sticky chain and
is summed out by the forward algorithm. After sampling, the posterior over types is
recovered per draw (Rao-Blackwellised) in numpy by the exact observer's own functions, so the
two engines cannot disagree about the model. Every fit is checked (R-hat, ESS, divergences);
one that fails the gate warns with :class:`ConvergenceWarning`.

Modules, in the order a fit uses them:

``arrays``       the data as arrays (lagged moves, threat multiplier, masks)
``priors``       :func:`resolve_priors` and the PyMC variables of the parameters
``problem``      :class:`~.problem.FitProblem`: spec, data, priors and types resolved once
``build``        the PyMC/PyTensor graph (forward algorithm in ``pytensor.scan``)
``sampling``     nutpie / PyMC sampling, the compiled-model caches (``_nutpie_cache``)
``posterior``    per-draw type probabilities (exact filter), ``belief_draws``
``checks``       prior and posterior predictive checks
``diagnostics``  :class:`ConvergenceWarning`, :func:`diagnostics`, the gate, the summary
``model``        :class:`PerceptionModel`, the thin estimator over all of the above
``persist``      :func:`load`
``comparison``   :func:`compare_models` (PSIS-LOO)

Importing this package does not import PyMC; building or fitting a model does.
"""

from __future__ import annotations

from secdilemma.engines.pymc.comparison import compare_models
from secdilemma.engines.pymc.diagnostics import ConvergenceWarning, diagnostics
from secdilemma.engines.pymc.model import PerceptionModel
from secdilemma.engines.pymc.persist import load
from secdilemma.engines.pymc.priors import resolve_priors

__all__ = [
    "ConvergenceWarning",
    "PerceptionModel",
    "compare_models",
    "diagnostics",
    "load",
    "resolve_priors",
]
