"""Random stand-ins of the published models (``models``), built by ``builders``, as the tests' models."""
