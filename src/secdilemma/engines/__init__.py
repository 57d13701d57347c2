"""The two inference engines: ``exact`` (fixed parameters, forward filter and smoother) and
``pymc`` (the full Bayesian fit). They evaluate the same likelihood, from
:mod:`secdilemma.model.equations`."""
