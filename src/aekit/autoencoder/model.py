"""The public model object: :class:`Autoencoder`, and :func:`build` / :func:`load`.

An ``Autoencoder`` pairs a registered family's config with its PyTorch module and what training left
behind (history, training config, and the typed header sections of :mod:`aekit.datasets.description`: preprocessing,
data description, application state). All array methods take and return numpy arrays, run without
gradients, and work in batches (:func:`aekit.training.inference.map_batches`) so the whole array is never on the
device at once.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save as st_save

from aekit.autoencoder.fitting import run_fit
from aekit.autoencoder.model_file import model_from_file, model_header, model_tensors
from aekit.autoencoder.summary import layer_table
from aekit.core import container
from aekit.core.arrays import to_model
from aekit.core.pictures import image_shape
from aekit.datasets.description import DataDescription, Parallel, Preprocessing, Sections
from aekit.datasets.preprocessing import Scaler
from aekit.errors import AekitError
from aekit.models.base import AEModule
from aekit.models.config import TrainConfig, from_dict, to_dict
from aekit.models.losses import LossSpec, kl_divergence, reconstruction, smoothed_error
from aekit.models.registry import Family, get_family
from aekit.training import distributed
from aekit.training.batches import ArraySource
from aekit.training.defaults import samples_of
from aekit.training.inference import map_batches
from aekit.training.loop import History, mean_loss, reconstruction_loss


class Autoencoder:
    """A built autoencoder of a registered family.

    Use :func:`aekit.build` to make one and :func:`aekit.load` to read one from a file.

    Attributes
    ----------
    family : str
        The registered family's name (``family_info`` is its Family; the constructor takes either).
    config : ModelConfig
        The family's config dataclass (input shape, latent size, ...).
    module : AEModule
        The PyTorch module (encoder, head, decoder).
    history : History
        Per-epoch logs of the last :meth:`fit`.
    train_config : TrainConfig or None
        The options of the last :meth:`fit`.
    preprocessing : aekit.datasets.description.Preprocessing
        What is applied to every input (``preprocessing.scaler``), saved in the model file.
    data : aekit.datasets.description.DataDescription
        What the model was trained on (kind, columns, window/stride, picture shape, ...), saved in the file.
    family_info : aekit.models.registry.Family
        The registered family (input layout, variational, loss, pretraining), looked up once.
    extra_tensors : dict[str, torch.Tensor]
        Named tensors an application keeps with the model that are not weights of the module (e.g. a text
        pipeline's word-embedding matrix); saved in the payload under ``__extra__.<name>``.

    Examples
    --------
    >>> import numpy as np, aekit
    >>> ae = aekit.build("dense", input_shape=(64,), hidden=[32], latent_dim=8, seed=0)
    >>> x = np.random.default_rng(0).random((100, 64), dtype=np.float32)
    >>> h = ae.fit(x, epochs=2, batch_size=32, verbose=0, seed=0)
    >>> ae.encode(x).shape, ae.reconstruct(x).shape, ae.reconstruction_error(x).shape
    ((100, 8), (100, 64), (100,))
    """

    def __init__(
        self,
        family: str | Family,
        config,
        module: AEModule | None = None,
        *,
        train_config: TrainConfig | None = None,
        history: History | None = None,
        sections: Sections | None = None,
        extra_tensors: dict | None = None,
    ):
        # the registry is asked once (by whoever already holds the Family, build and load, or here): the
        # family's declarations (input layout, variational, loss, pretraining) are read from it for the model's life
        self.family_info = family if isinstance(family, Family) else get_family(family)
        self.family = self.family_info.name
        self.config = config
        self.module = module if module is not None else self.family_info.builder(config)
        self.train_config = train_config
        self.history = history if history is not None else History()
        self.sections = sections if sections is not None else Sections()
        self.extra_tensors: dict[str, torch.Tensor] = dict(extra_tensors or {})
        self.fit_info: dict = {}  # what the last fit decided from the data (aekit.training.defaults.fit_facts)
        self.device = next(self.module.parameters()).device

    # --- properties --------------------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple:
        return tuple(self.config.input_shape)

    @property
    def variational(self) -> bool:
        return self.family_info.variational

    @property
    def loss_spec(self) -> LossSpec:
        """The training objective of this model (from its family and config)."""
        return self.family_info.loss_spec(self.config)

    @property
    def code_size(self) -> int:
        """Length of the code vector ``encode`` returns."""
        if self.config.latent_dim:
            return int(self.config.latent_dim)
        return int(self.encode(np.zeros((1, *self.input_shape), np.float32)).shape[1])

    @property
    def preprocessing(self) -> Preprocessing:
        """The preprocessing section (the fitted scaler)."""
        return self.sections.preprocessing

    @property
    def data(self) -> DataDescription:
        """The data description section: what the model was trained on."""
        return self.sections.data

    @data.setter
    def data(self, value: DataDescription) -> None:
        self.sections.data = value

    @property
    def parallel(self) -> Parallel:
        """How the last :meth:`fit` ran: ``world_size`` processes (torchrun), ``global_batch_size``,
        ``batch_per_process``."""
        return self.sections.parallel

    @property
    def scaler(self) -> Scaler | None:
        """The scaler fitted by ``fit(..., scale=...)``, or None."""
        return self.sections.preprocessing.scaler

    def section(self, cls):
        """The application section ``cls`` stored with this model (e.g. the anomaly threshold), or None."""
        return self.sections.get(cls)

    def set_section(self, section) -> None:
        """Store an application section (a dataclass with ``SECTION``); saved with the model."""
        self.sections.set(section)

    def pop_section(self, cls) -> None:
        self.sections.pop(cls)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    def layers(self) -> list[tuple[str, str, int]]:
        """(name, class, parameter count) for each leaf layer, encoder first."""
        rows = []
        for name, m in self.module.named_modules():
            if not list(m.children()):
                rows.append((name, type(m).__name__, sum(p.numel() for p in m.parameters(recurse=False))))
        return rows

    def summary(self, print_fn=print) -> str:
        """A Keras-style table of the layers (name and class, output shape for one sample, parameters),
        printed with ``print_fn`` (None: not printed) and returned as a string.

        >>> import aekit
        >>> s = aekit.build("dense", input_shape=(8,), hidden=[4], latent_dim=2).summary(print_fn=None)
        >>> s.splitlines()[-1]
        'Total params: 98 (trainable 98) - code size 2, input (8,)'
        """
        text = layer_table(self)
        if print_fn is not None:
            print_fn(text)
        return text

    def __repr__(self) -> str:
        return f"Autoencoder(family={self.family!r}, input_shape={self.input_shape}, params={self.n_params():,})"

    def to(self, device: str | torch.device) -> Autoencoder:
        self.module.to(device)
        self.device = torch.device(device)
        return self

    # --- training ----------------------------------------------------------------------------------------
    def fit(
        self,
        x,
        y=None,
        *,
        validation_data=None,
        epochs: int | None = None,
        batch_size: int | None = None,
        callbacks: list | None = None,
        **training_options,
    ) -> History:
        """Train on ``x`` (targets ``y``, default ``x``) and return the :class:`History`.

        ``x`` is an array (N, ...) in any layout the model accepts, what the loaders of
        :mod:`aekit.datasets` return (``ImageSet``, ``Table``, ``TimeSeries``: cut into windows of the
        model's length), or a stream (``ImageStream``, ``ArrayStream``) for data that does not fit in
        memory; a memory-mapped array (``np.load(path, mmap_mode="r")``) is read batch by batch like a stream.
        Under ``torchrun`` the processes train one model with DistributedDataParallel: ``batch_size`` is
        the global batch (a multiple of the number of processes) and rank 0 writes the files.
        ``validation_data`` is an array, or a pair ``(x_val, y_val)``. ``training_options`` are the fields of
        :class:`aekit.models.config.TrainConfig` (optimizer, lr, seed, patience, checkpoint, resume, log_dir, ...).

        Options left at ``auto``/``None`` are decided here from the data (see :mod:`aekit.training.defaults`):
        scaling, loss and output activation, batch size, epochs, a validation split with early stopping.
        What was decided is in :attr:`fit_info`, printed before the first epoch when ``verbose`` > 0, and
        kept in the model file. Training that diverges (a non-finite loss, or one 1000x above the first
        epoch's) stops with :class:`aekit.errors.DivergenceError`; the model keeps the last finite weights.
        """
        cfg = from_dict(TrainConfig, {"epochs": epochs, "batch_size": batch_size, **training_options}, owner="fit")
        return run_fit(self, x, y, validation_data, cfg, callbacks)

    # --- inference ---------------------------------------------------------------------------------------
    def scale(self, a: np.ndarray) -> np.ndarray:
        """Model-layout data (N, *input_shape) -> the model's scaled space (identity without a scaler)."""
        s = self.scaler
        return s.transform(a) if s is not None else a

    def unscale(self, a: np.ndarray) -> np.ndarray:
        """Model outputs in the scaled space -> data units (identity without a scaler)."""
        s = self.scaler
        return s.inverse_transform(a) if s is not None else a

    def prepare(self, x, name: str = "x") -> np.ndarray:
        """``x`` in any layout the model accepts -> what the module takes: float32 (N, *input_shape),
        scaled like the training data.

        Examples
        --------
        >>> import numpy as np, aekit
        >>> ae = aekit.build("conv", input_shape=(1, 8, 8), filters=[4])
        >>> ae.prepare(np.zeros((2, 8, 8, 1), np.uint8)).shape
        (2, 1, 8, 8)
        """
        return self._prepare(x, name)[0]

    def _prepare(self, x, name: str = "x"):
        arr, layout = to_model(samples_of(x, self.input_shape), self.input_shape, name)  # loaders' results too
        return self.scale(arr), layout

    def predict_batches(self, arr, fn, batch_size: int = 1024, module: torch.nn.Module | None = None) -> np.ndarray:
        """``fn(module, batch)`` over prepared data ``arr`` (N, *input_shape) batch by batch on the model's device,
        in evaluation mode, without gradients (:func:`aekit.training.inference.map_batches`); float32 numpy out.
        ``module`` defaults to this model's module (an application may pass one built on it)."""
        module = module if module is not None else self.module
        return map_batches(module, arr, fn, batch_size=batch_size, device=next(module.parameters()).device)

    def encode(self, x, batch_size: int = 1024) -> np.ndarray:
        """Codes (N, code_size); the posterior mean for variational models."""
        arr, _ = self._prepare(x)
        return self.predict_batches(arr, lambda m, b: m.encode(b)[0], batch_size)

    def decode(self, z, batch_size: int = 1024) -> np.ndarray:
        """Outputs (N, *input_shape) for codes (N, code_size)."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2:
            raise AekitError(f"z: expected codes of shape (N, code_size), got {z.shape}")
        try:
            return self.unscale(self.predict_batches(z, lambda m, b: m.decode(b), batch_size))
        except RuntimeError:
            raise AekitError(
                f"z: codes of width {z.shape[1]} do not fit this model's code size {self.code_size}"
            ) from None

    def reconstruct(self, x, batch_size: int = 1024) -> np.ndarray:
        """Reconstructions, returned in the layout ``x`` came in (float32)."""
        arr, layout = self._prepare(x)
        return layout.restore(self.unscale(self.predict_batches(arr, lambda m, b: m(b).x_hat, batch_size)))

    def reconstruction_error(self, x, metric: str = "mse", batch_size: int = 1024) -> np.ndarray:
        """One error per sample (N,): 'mse' or 'bce' (means over features, in the model's scaled space),
        'blur_mse' (pictures: the MSE of the residual blurred by a Gaussian of one pixel,
        :func:`aekit.models.losses.smoothed_error`), or 'elbo' (variational models: the negative ELBO in nats,
        reconstruction sum + KL at the posterior mean)."""
        if metric not in ("mse", "bce", "elbo", "blur_mse"):
            raise AekitError(f"metric={metric!r}; expected 'mse', 'bce', 'blur_mse' or 'elbo'")
        if metric == "elbo" and not self.variational:
            raise AekitError(f"metric='elbo' needs a variational model; {self.family!r} is not")
        # pictures: the recorded or input shape, or a flat input whose width is a square (784 -> 28x28)
        chw = image_shape(self, guess_flat=True) if metric == "blur_mse" else None
        if metric == "blur_mse" and (chw is None or min(chw[1:]) < 8):
            raise AekitError(
                f"metric='blur_mse' needs a model of pictures; input shape {self.input_shape} is not "
                f"one (build it with the pictures' shape, e.g. (28, 28)), or use metric='mse'"
            )
        channels_last = chw is not None and tuple(self.input_shape) == (chw[1], chw[2], chw[0]) != tuple(chw)
        arr = self.prepare(x)
        rec_kind = self.config.reconstruction_loss if metric == "elbo" else metric

        def err(m, b: torch.Tensor) -> torch.Tensor:
            out = m(b)
            if metric == "blur_mse":
                assert chw is not None  # checked above
                return smoothed_error(out.x_hat, b, chw, channels_last)
            if metric != "elbo":
                return reconstruction(out, b, rec_kind, "mean")
            return reconstruction(out, b, rec_kind, "sum") + kl_divergence(out.mu, out.logvar)

        return self.predict_batches(arr, err, batch_size)

    def evaluate(self, x, y=None, batch_size: int = 1024) -> dict[str, float]:
        """The loss and its terms on ``x`` (targets ``y``, default ``x``), computed exactly as training reports
        ``val_loss``: ``{'loss': ..., 'reconstruction': ..., 'kl': ..., 'sparsity': ...}`` (terms that apply).

        Examples
        --------
        >>> import numpy as np, aekit
        >>> ae = aekit.build("vae", input_shape=(16,), hidden=[8], latent_dim=2, seed=0)
        >>> sorted(ae.evaluate(np.random.default_rng(0).random((20, 16), dtype=np.float32)))
        ['kl', 'loss', 'reconstruction']
        """
        xa = torch.from_numpy(self.prepare(x))
        ya = torch.from_numpy(self.prepare(y, "y")) if y is not None else None
        if ya is not None and len(ya) != len(xa):
            raise AekitError(f"y: {len(ya)} samples but x has {len(xa)}")
        return mean_loss(self.module, ArraySource(xa, ya), reconstruction_loss(self.loss_spec), batch_size, self.device)

    def sample(self, n: int, seed: int | None = None, batch_size: int = 1024) -> np.ndarray:
        """``n`` samples (n, *input_shape) decoded from the prior N(0, I) (variational models only)."""
        if not self.variational:
            raise AekitError(f"sample() needs a variational family (vae, conv_vae); this model is {self.family!r}")
        gen = torch.Generator()
        gen.manual_seed(seed) if seed is not None else gen.seed()
        z = torch.randn(int(n), self.config.latent_dim, generator=gen).numpy()
        return self.decode(z, batch_size)

    # --- files -------------------------------------------------------------------------------------------
    def header(self) -> dict:
        """The model file's JSON header (format in :mod:`aekit.core.container`; fields in
        :mod:`aekit.autoencoder.model_file`)."""
        return model_header(self)

    def to_bytes(self) -> bytes:
        """The bytes of this model's file (what :meth:`save` writes; the estimators pickle these)."""
        return container.encode_file(model_header(self), model_tensors(self))

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "model bytes") -> Autoencoder:
        """The model in ``data`` (bytes of a model file); nothing is unpickled or executed."""
        return model_from_file(cls, *container.decode_file(data, name), name)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model file (atomically); see :mod:`aekit.core.container` for the format. Under torchrun only
        rank 0 writes (every rank holds the same weights); the others return the path without writing."""
        if not distributed.is_main():
            return Path(path)
        return container.atomic_write(path, self.to_bytes())

    def fingerprint(self) -> str:
        """sha256 of the family, config and weights: identifies this exact model (e.g. in .aekz files)."""
        h = hashlib.sha256(self.family.encode())
        h.update(repr(sorted(to_dict(self.config).items())).encode())
        h.update(st_save({k: v.detach().cpu().contiguous() for k, v in self.module.state_dict().items()}))
        if self.extra_tensors:  # only when present, so fingerprints of plain models are unchanged
            h.update(
                st_save({k: torch.as_tensor(v).detach().cpu().contiguous() for k, v in self.extra_tensors.items()})
            )
        return h.hexdigest()

    def export_onnx(self, path: str | os.PathLike, part: str = "full", **kwargs) -> Path:
        """Export the encoder, decoder or full model to ONNX with a dynamic batch size (see
        :func:`aekit.autoencoder.onnx.export_onnx`)."""
        from aekit.autoencoder.onnx import export_onnx

        return export_onnx(self, path, part=part, **kwargs)


def build(name: str | Family, *, input_shape, seed: int | None = None, **options) -> Autoencoder:
    """Build a registered family from ``input_shape`` and its options (see ``aekit models``).

    Unknown names and unknown options raise :class:`aekit.AekitError` listing the valid ones. ``seed``
    makes the initial weights reproducible.

    Examples
    --------
    >>> import aekit
    >>> aekit.build("conv", input_shape=(1, 28, 28)).code_size
    128
    """
    family = name if isinstance(name, Family) else get_family(name)
    cfg = from_dict(family.config_cls, {"input_shape": tuple(input_shape), **options}, owner=family.name)
    if seed is None:
        return Autoencoder(family, cfg, family.builder(cfg))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Autoencoder(family, cfg, family.builder(cfg))


def load(path: str | os.PathLike) -> Autoencoder:
    """Read a model file (or a training checkpoint) written by :meth:`Autoencoder.save`.

    The model is rebuilt through the registry from the stored config and the weights are loaded from the
    safetensors payload; nothing is unpickled or executed.
    """
    return model_from_file(Autoencoder, *container.read_file(path), path)
