"""The model file's header in declared, typed sections.

A model file's JSON header (see :mod:`aekit.core.container` for the binary layout) holds, besides the family, the
configs and the history, three kinds of state, each a dataclass with ``to_dict`` / ``from_dict``:

* :class:`Preprocessing` -- what is applied to every input (the fitted :class:`~aekit.datasets.preprocessing.Scaler`);
* :class:`DataDescription` -- what the model was trained on (kind, table columns, series window and
  stride, picture shape and colour, class names, the data source). Every reader describes what it read
  in one (``Source.description``, see :func:`aekit.datasets.reader.read_source`); a training run keeps
  it as ``model.data``, and a command reads new data the same way (``read_source(src, like=...)``)
  without repeating the options;
* :class:`Parallel` -- how the last training ran: the number of processes (torchrun's world size) and
  the global batch;
* application sections -- state an application keeps with the model (the anomaly threshold of
  :mod:`aekit.apps.anomaly`, the text pipeline of :mod:`aekit.apps.text`). Each is a dataclass with a
  class attribute ``SECTION`` (its key under ``"apps"``); :meth:`aekit.Autoencoder.section` reads one,
  :meth:`aekit.Autoencoder.set_section` stores one. The core never needs to import the application.

``HEADER_VERSION`` 2 introduced the sections; version-1 files kept all of this in one untyped
``preprocessing`` dict, which :func:`from_legacy` still reads.

Examples
--------
>>> d = DataDescription(kind="series", window=64, stride=16)
>>> DataDescription.from_dict(d.to_dict()) == d
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from aekit.datasets.preprocessing import Scaler
from aekit.errors import FormatError

HEADER_VERSION = 2
DATA_KINDS = ("image", "table", "series", "text")


def _known(cls, d: dict) -> dict:
    """The keys of ``d`` that are fields of ``cls`` (keys a newer aekit added are ignored, not refused)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in d.items() if k in names}


@dataclass
class Preprocessing:
    """What every input goes through before the module sees it (and outputs after, inverted), and which of
    the options behind it the training data decided (``decided``: e.g. ``['scale', 'loss',
    'output_activation']``, see :mod:`aekit.training.defaults`; a later fit decides those again)."""

    scaler: Scaler | None = None
    decided: list | None = None

    def to_dict(self) -> dict:
        return {"scaler": self.scaler.to_dict() if self.scaler is not None else None, "decided": self.decided}

    @classmethod
    def from_dict(cls, d: dict | None) -> Preprocessing:
        d = d or {}
        return cls(
            scaler=Scaler.from_dict(d["scaler"]) if d.get("scaler") else None,
            decided=list(d["decided"]) if d.get("decided") else None,
        )


@dataclass
class DataDescription:
    """How data was read: what a reader made of a SRC, and what a model was trained on; every field is
    optional (a model built from arrays knows none).

    Attributes
    ----------
    kind : {'image', 'table', 'series', 'text'} or None
        The data kind (not a family's ``input_layout``, the layout its module takes: flat, image, sequence)
    source : the data source string (``aekit train --data``), what ``aekit report RUN_DIR`` evaluates on
    columns : the table columns the model reads, in order
    window, stride : the window length and step a time series was cut with
    image_shape : (C, H, W) of the pictures (also for dense families, whose input is flat)
    color : 'gray' or 'rgb'
    class_names : names of the integer labels of the training data (picture sub-folders)
    impute : how missing table values were filled ('mean', 'median' or 'zero' of each column), or None
    """

    kind: str | None = None
    source: str | None = None
    columns: list | None = None
    window: int | None = None
    stride: int | None = None
    image_shape: tuple | None = None
    color: str | None = None
    class_names: list | None = None
    impute: str | None = None

    def __post_init__(self):
        if self.kind is not None and self.kind not in DATA_KINDS:
            raise FormatError(f"data description: kind={self.kind!r}; expected one of {', '.join(DATA_KINDS)}")
        if self.image_shape is not None:
            self.image_shape = tuple(int(v) for v in self.image_shape)
        for name in ("window", "stride"):
            if getattr(self, name) is not None:
                setattr(self, name, int(getattr(self, name)))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        if self.image_shape is not None:
            d["image_shape"] = list(self.image_shape)
        return d

    @classmethod
    def from_dict(cls, d: dict | None) -> DataDescription:
        """The description :meth:`to_dict` wrote (a header's ``data`` section); keys it does not know are
        ignored (a newer aekit may write more)."""
        try:
            return cls(**_known(cls, d or {}))
        except (TypeError, ValueError) as e:
            raise FormatError(f"data description: malformed ({e})") from None

    @classmethod
    def from_legacy(cls, pre: dict | None) -> DataDescription:
        """The description a version-1 header kept among its untyped ``preprocessing`` keys (the source
        under ``data``; a text pipeline under ``text`` means text).

        >>> d = DataDescription.from_legacy({"data": "x.csv", "window": 8, "scaler": None})
        >>> d.source, d.window, d.kind
        ('x.csv', 8, None)
        """
        pre = pre or {}
        d = cls.from_dict({new: pre[old] for old, new in _LEGACY_DATA.items() if pre.get(old)})
        if pre.get("text"):
            d.kind = "text"
        return d


@dataclass
class Parallel:
    """How the last ``fit`` ran: ``world_size`` processes (torchrun), the global batch and each process's part."""

    world_size: int = 1
    global_batch_size: int | None = None
    batch_per_process: int | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> Parallel:
        try:
            return cls(**_known(cls, d or {}))
        except TypeError as e:
            raise FormatError(f"parallel section: malformed ({e})") from None


@dataclass
class Sections:
    """The typed state of a model: preprocessing, data description and application sections.

    Application sections are kept as dataclass instances once read, and as their plain dicts until then, so
    a model file whose application is not imported still loads and saves its sections unchanged.
    """

    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    data: DataDescription = field(default_factory=DataDescription)
    parallel: Parallel = field(default_factory=Parallel)
    apps: dict = field(default_factory=dict)  # SECTION name -> dataclass instance or its dict

    def get(self, cls) -> Any:
        """The application section ``cls`` (a dataclass with ``SECTION``), or None when absent."""
        value = self.apps.get(cls.SECTION)
        if value is None or isinstance(value, cls):
            return value
        try:
            value = cls.from_dict(value)
        except (KeyError, TypeError, ValueError) as e:
            raise FormatError(f"model file: malformed {cls.SECTION!r} section ({e})") from None
        self.apps[cls.SECTION] = value
        return value

    def set(self, section) -> None:
        self.apps[type(section).SECTION] = section

    def pop(self, cls) -> None:
        self.apps.pop(cls.SECTION, None)

    def to_dict(self) -> dict:
        apps = {k: (v if isinstance(v, dict) else v.to_dict()) for k, v in self.apps.items()}
        return {
            "header_version": HEADER_VERSION,
            "preprocessing": self.preprocessing.to_dict(),
            "data": self.data.to_dict(),
            "parallel": self.parallel.to_dict(),
            "apps": apps,
        }

    @classmethod
    def from_header(cls, header: dict) -> Sections:
        """The sections of a model file's header, of any header version."""
        if int(header.get("header_version", 1)) < 2:
            return from_legacy(header.get("preprocessing"))
        return cls(
            Preprocessing.from_dict(header.get("preprocessing")),
            DataDescription.from_dict(header.get("data")),
            Parallel.from_dict(header.get("parallel")),
            dict(header.get("apps") or {}),
        )


_LEGACY_DATA = {
    "image_shape": "image_shape",
    "window": "window",
    "stride": "stride",
    "class_names": "class_names",
    "color": "color",
    "data": "source",
    "columns": "columns",
}
_LEGACY_APPS = ("anomaly", "text")


def from_legacy(pre: dict | None) -> Sections:
    """Sections from a version-1 header's untyped ``preprocessing`` dict (scaler, run metadata, the
    anomaly threshold under 'anomaly', the text pipeline under 'text')."""
    pre = dict(pre or {})
    apps = {k: pre[k] for k in _LEGACY_APPS if pre.get(k)}
    return Sections(Preprocessing.from_dict({"scaler": pre.get("scaler")}), DataDescription.from_legacy(pre), apps=apps)


__all__ = ["HEADER_VERSION", "Preprocessing", "DataDescription", "Parallel", "Sections", "from_legacy"]
