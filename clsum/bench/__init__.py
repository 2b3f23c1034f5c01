"""``clsum bench``: clsum against a plain transformers loop and a plain CTranslate2 loop, side by side.

Modules: ``run`` (options in, report out: everything shared is prepared once in this process, then
one child per system), ``models`` (real models from the cache, else random models with the
published architectures, built by ``builders``, which also builds the tests' tiny models),
``inputs`` (documents cleaned and segmented once, by the pipeline clsum runs), ``settings`` (forced
lengths and the baselines' decoding settings), ``baselines`` (the naive and ctranslate2-plain loops,
written the way a user following each library's docs would), ``systems`` (one child process per
system, timing and peak RSS), ``measure`` (FLOPs, matmul peak, chrF) and ``report`` (numbers,
table, summary line). The command itself is ``clsum.cli.bench``.

The baselines call transformers and CTranslate2 directly on purpose: they are what clsum is compared
with, so they must not go through clsum's runtime.
"""
