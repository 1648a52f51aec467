"""scikit-learn estimators: any aekit family as a transformer or an outlier detector (:mod:`.estimators`)."""

from aekit.sklearn.estimators import AutoencoderOutlierDetector, AutoencoderTransformer

__all__ = ["AutoencoderTransformer", "AutoencoderOutlierDetector"]
