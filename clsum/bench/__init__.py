"""``clsum bench``: clsum against a plain transformers loop and a plain CTranslate2 loop, side by side.

``run`` prepares what the systems share once (``standins``: the models, real or random stand-ins;
``inputs``: the documents; ``settings``: forced lengths and decoding settings), then runs each
system's ``job`` in a child (``local``; ``onray``: clsum on the ray engine); ``report`` turns the
results into numbers (``measure``: FLOPs, matmul peak, chrF); ``invariance`` compares outputs
instead. The baselines (``baselines``) call transformers and CTranslate2 directly, as a user
following each library's docs would, but decode with exactly the settings clsum computes, so that
a speed difference is never a decoding difference. This package imports nothing itself:
``clsum.cli.bench`` reads the system names from it and loads the bench when the command runs.
"""

SYSTEMS = ("naive", "ctranslate2-plain", "clsum")
# clsum on the ray engine (``onray``), not run by default: system -> actors per model stage
RAY_SYSTEMS = {"clsum-ray-1x1": 1, "clsum-ray-2x2": 2}
