"""clsum: Dutch and German news in, English summaries out, with signed evaluation.

    from clsum import Pipeline, load_config
    pipe = Pipeline(load_config("configs/cpu-fast.yaml"))
    records = pipe.summarize_texts(["Het kabinet heeft ..."])
    result = pipe.run("articles/", "out/")

Layers, bottom to top (enforced by import-linter, see pyproject.toml): ``errors``, ``config``,
``record`` and ``versions``; the stages in ``clsum.pipeline`` (models only through
``clsum.pipeline.runtime``); the ``runner``; ``clsum.eval`` and the ray engine ``clsum.cluster``
(``run_on_ray``, the runner's ``run`` on a Ray cluster); ``clsum.bench``; the ``cli``.
"""

from clsum.config import load_config
from clsum.runner import Pipeline

__all__ = ["Pipeline", "load_config"]
