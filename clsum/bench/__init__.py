"""``clsum bench``: clsum against a plain transformers loop and a plain CTranslate2 loop, side by side.

Modules: ``run`` (options in, report out: everything shared is prepared once in this process, then
one child per system), ``standins`` (real models from the cache, else random models with the
published architectures, saved in the real repositories' layout; the tests build their tiny models
with the same code), ``inputs`` (documents cleaned and segmented once, by the pipeline clsum runs),
``settings`` (forced lengths and the baselines' decoding settings), ``baselines`` (the naive and
ctranslate2-plain loops, written the way a user following each library's docs would), ``job`` (what
a system is given and what it returns), ``local`` (one child process per system, timing and peak
RSS), ``onray`` (the clsum system on the ray engine), ``invariance`` (``--invariance``), ``measure``
(FLOPs, matmul peak, chrF) and ``report`` (numbers, table, summary line, JSON). The command itself is
``clsum.cli.bench``, which imports this package only: the modules load when the command runs.

The baselines call transformers and CTranslate2 directly on purpose: they are what clsum is compared
with, so their inference does not go through clsum's runtime. Their generation settings do: they
decode with exactly the settings clsum computes for the same model and task, so that a speed
difference is never a decoding difference.
"""

SYSTEMS = ("naive", "ctranslate2-plain", "clsum")
# clsum on the ray engine (``onray``), not run by default: system -> actors per model stage
RAY_SYSTEMS = {"clsum-ray-1x1": 1, "clsum-ray-2x2": 2}
