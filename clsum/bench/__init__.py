"""``clsum bench`` (docs/performance.md, "Benchmarks"): ``run`` prepares what the systems share
once (``standins``, ``inputs``, the ``baselines``' settings), runs each system's ``job`` in a child
(``local``, ``onray``), and ``report`` turns the results into numbers (``measure``);
``invariance`` compares outputs instead. This package imports nothing itself: ``clsum --help`` loads no bench.
"""

SYSTEMS = ("naive", "ctranslate2-plain", "clsum")
# clsum on the ray engine (``onray``), not run by default: system -> actors per model stage
RAY_SYSTEMS = {"clsum-ray-1x1": 1, "clsum-ray-2x2": 2}
