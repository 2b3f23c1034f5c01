"""Random stand-ins of the published models (``models``), built and saved in a hub repository's
layout by ``builders``, with which the tests build their tiny models and replicas too."""
