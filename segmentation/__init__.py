"""Customer segmentation engine: read tables, fit one scikit-learn pipeline, explain, store.

``from segmentation import SegmentationModel`` is the estimator. It is imported on first
use, so the command line can label a file with a saved model without loading scikit-learn.
"""

__all__ = ["SegmentationModel"]


def __getattr__(name: str):
    if name == "SegmentationModel":
        from segmentation.modeling.estimator import SegmentationModel

        return SegmentationModel
    raise AttributeError(f"module 'segmentation' has no attribute {name!r}")
