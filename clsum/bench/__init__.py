"""``clsum bench``: clsum against a plain transformers loop and a plain CTranslate2 loop, side by side.

Modules: ``run`` (options in, report out: everything shared is prepared once in this process, then
one child per system), ``models`` (real models from the cache, else random models with the
published architectures, built by ``builders``, which also builds the tests' tiny models, and saved
in the real repositories' layout by ``layouts``, which also saves the tests' replicas), ``inputs``
(documents cleaned and segmented once, by the pipeline clsum runs), ``settings`` (forced lengths and
the baselines' decoding settings), ``baselines`` (the naive and ctranslate2-plain loops, written the
way a user following each library's docs would), ``systems`` (one child process per system, timing
and peak RSS), ``measure`` (FLOPs, matmul peak, chrF) and ``report`` (numbers, table, summary line).
The command itself is ``clsum.cli.bench``.

The baselines call transformers and CTranslate2 directly on purpose: they are what clsum is compared
with, so their inference does not go through clsum's runtime. Their generation settings do: they
decode with exactly the settings clsum computes for the same model and task, so that a speed
difference is never a decoding difference.
"""
