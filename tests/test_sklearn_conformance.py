"""scikit-learn's own conformance suite on both estimators, with their default parameters.

No check is skipped or expected to fail. (scikit-learn itself skips ``check_array_api_input`` unless the
environment sets SCIPY_ARRAY_API=1; the estimators do not claim array-API support.)
"""

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from aekit.sklearn import AutoencoderOutlierDetector, AutoencoderTransformer  # noqa: E402


@parametrize_with_checks([AutoencoderTransformer(), AutoencoderOutlierDetector()])
def test_sklearn_conformance(estimator, check):
    check(estimator)
