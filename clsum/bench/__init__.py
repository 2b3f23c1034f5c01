"""``clsum bench`` (BENCHMARKS.md; modules: docs/architecture.md). This package imports nothing
itself: ``clsum --help`` loads no bench."""

SYSTEMS = ("naive", "ctranslate2-plain", "clsum")
# clsum on the ray engine (``onray``), not run by default: system -> actors per model stage
RAY_SYSTEMS = {"clsum-ray-1x1": 1, "clsum-ray-2x2": 2}
