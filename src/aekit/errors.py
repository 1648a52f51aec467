"""User-facing errors.

Every mistake a user can make (bad file, bad option, wrong shape) raises :class:`AekitError` or one of its
subclasses, with a one-line message naming the file or argument and what was expected. The CLI turns them
into ``aekit: error: ...`` and exit status 2. Each also subclasses the built-in exception a Python caller
would catch for the same mistake:

==========================  ==========================================  =====================================
class                       also a                                      raised for
==========================  ==========================================  =====================================
:class:`AekitError`         ``ValueError``                              bad values, shapes, options, devices
:class:`FormatError`        ``ValueError``                              a foreign, truncated or corrupt file
:class:`InputNotFoundError` ``FileNotFoundError`` (and ``ValueError``)  an input file or folder that is absent
:class:`FileAccessError`    ``OSError`` (and ``ValueError``)            a file that cannot be read or written
==========================  ==========================================  =====================================

Examples
--------
>>> from aekit.errors import InputNotFoundError
>>> try:
...     raise InputNotFoundError("data nope.npy: no such file or folder")
... except FileNotFoundError as e:
...     print(e)
data nope.npy: no such file or folder
"""

from __future__ import annotations

import os


class AekitError(ValueError):
    """A user mistake: the message says what was wrong and what was expected."""


class FormatError(AekitError):
    """A file is not ours, is truncated, or has a version we cannot read."""


class DivergenceError(AekitError):
    """Training diverged (a non-finite loss, or one far above where it started). The model keeps the last
    finite weights; the message names the epoch and what to try (a lower ``lr``, scaling the data)."""


class InputNotFoundError(AekitError, FileNotFoundError):
    """An input file or folder does not exist (``except FileNotFoundError`` catches it too)."""

    def __str__(self) -> str:  # OSError would format (errno, strerror) pairs; keep the one-line message
        return str(self.args[0]) if self.args else ""


class FileAccessError(AekitError, OSError):
    """A file or folder cannot be read or written: permissions, a file in the way of a folder, a folder
    where a file was expected, a full disk (``except OSError`` catches it too)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def describe_os_error(e: OSError, what: str = "") -> str:
    """One line for an ``OSError`` of a user's file: ``'<what> <path>: <reason>'``."""
    path = e.filename if e.filename is not None else ""
    reason = e.strerror or str(e) or type(e).__name__
    hint = {
        "FileExistsError": "a file is in the way of a folder",
        "NotADirectoryError": "a file is in the way of a folder",
        "IsADirectoryError": "expected a file",
        "PermissionError": "permission denied",
    }.get(type(e).__name__)
    if hint and hint.lower() not in reason.lower():
        reason = f"{reason}; {hint}"
    if e.filename2 is not None:
        path = f"{path} -> {e.filename2}"
    head = " ".join(s for s in (what, os.fspath(path) if path else "") if s)
    return f"{head}: {reason}" if head else reason


def first_line(e: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none: how a library's
    complaint about a user's file is quoted inside one of aekit's one-line messages."""
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def os_error(e: OSError, what: str = "") -> AekitError:
    """The project error for an ``OSError`` met on a user's file (raise it ``from None``)."""
    msg = describe_os_error(e, what)
    return InputNotFoundError(msg) if isinstance(e, FileNotFoundError) else FileAccessError(msg)


__all__ = [
    "AekitError",
    "FormatError",
    "DivergenceError",
    "InputNotFoundError",
    "FileAccessError",
    "describe_os_error",
    "first_line",
    "os_error",
]
