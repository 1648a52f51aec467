"""User-facing errors.

Every mistake a user can make (bad file, bad option, wrong shape) raises :class:`AekitError` with a one-line
message naming the file or argument and what was expected. The CLI turns it into ``aekit: error: ...`` and
exit status 2. It subclasses ``ValueError`` so scikit-learn style callers that catch ``ValueError`` work.
"""


class AekitError(ValueError):
    """A user mistake: the message says what was wrong and what was expected."""


class FormatError(AekitError):
    """A file is not ours, is truncated, or has a version we cannot read."""
