"""pose-search: multimodal (image / pose / text) human pose retrieval, the library.

Rebuild a ready model from a run directory alone with :func:`pose_search.runs.load_model`.
"""

__version__ = "0.1.0"
