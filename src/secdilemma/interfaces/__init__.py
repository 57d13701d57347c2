"""What users touch: the command line (``cli``) and the figures (``plots``). Nothing here
holds pipeline logic; it parses, calls :class:`secdilemma.Study`, and prints or draws."""
