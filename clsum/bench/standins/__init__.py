"""Random stand-ins of the published models (``models``), built with ``builders`` and saved in the
hub repositories' layouts (``layouts``); the tests build their tiny models and replicas with the same
two modules."""
