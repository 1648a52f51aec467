"""Where and in what precision training runs: device choice, data placement, mixed precision, memory format.

Each decision is a small pure function of the device and the hardware's answers, so it is unit-tested on
any machine (the CUDA answers are parameters, not calls, in the tests).
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from aekit.errors import AekitError

# data up to this fraction of the device's free memory is copied there once, before the first epoch
RESIDENT_FRACTION = 0.25


_DEVICE_TYPES = ("cpu", "cuda", "mps")


def check_device_name(name: str) -> str:
    """``name`` if it names a device aekit can use (auto, cpu, cuda, cuda:N, mps), else an AekitError.
    Only the spelling is checked here; :func:`pick_device` checks that the device is there."""
    text = str(name).strip().lower()
    if text == "auto":
        return text
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError, TypeError):
        dev = None
    if dev is None or dev.type not in _DEVICE_TYPES:
        raise AekitError(f"device {name!r} is not valid; expected auto, cpu, cuda, cuda:N or mps")
    return text


def pick_device(name: str = "auto") -> torch.device:
    """The torch device for ``name`` ('auto': cuda, then mps, then cpu); an AekitError names a device this
    machine does not have (e.g. 'cuda' on a CPU-only torch build) instead of failing in the first step."""
    name = check_device_name(name)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(name)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch build has no CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise AekitError(f"device {name!r} is not available ({why}); use cpu or auto")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise AekitError(
                f"device {name!r} is not available (this machine has "
                f"{torch.cuda.device_count()} CUDA device(s): cuda:0 to "
                f"cuda:{torch.cuda.device_count() - 1})"
            )
    if dev.type == "mps" and not (
        getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    ):
        raise AekitError(f"device {name!r} is not available (no Apple MPS GPU here); use cpu or auto")
    return dev


def cpu_supports_bf16() -> bool:
    """True when this CPU has native bfloat16 matrix instructions (AVX512-BF16 or AMX), the case where
    oneDNN runs bfloat16 matmuls and convolutions faster than float32."""
    # The CPU's own flags (Linux), not a private torch probe: avx512_bf16 or amx_bf16 mean native bf16 math.
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@dataclass(frozen=True)
class AmpPlan:
    """Autocast for the forward pass: ``dtype`` None means full float32; float16 needs a GradScaler
    (its small range underflows gradients), bfloat16 has float32's range and needs none."""

    device_type: str
    dtype: torch.dtype | None = None
    note: str = ""

    @property
    def needs_scaler(self) -> bool:
        return self.dtype == torch.float16

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def scaler(self):
        """A GradScaler for float16, else None."""
        return torch.amp.GradScaler(self.device_type) if self.needs_scaler else None


def amp_plan(
    amp: bool, device: torch.device, *, cpu_bf16: bool | None = None, cuda_bf16: bool | None = None
) -> AmpPlan:
    """What ``amp=True`` means on ``device``: bfloat16 on CPUs with native bfloat16 and on GPUs that
    support it, float16 with a GradScaler on older GPUs, float32 (with a ``note`` saying why) elsewhere.
    ``cpu_bf16`` / ``cuda_bf16`` override the hardware queries (tests)."""
    kind = device.type
    if not amp:
        return AmpPlan(kind)
    if kind == "cuda":
        bf16 = torch.cuda.is_bf16_supported() if cuda_bf16 is None else cuda_bf16
        return AmpPlan(kind, torch.bfloat16 if bf16 else torch.float16)
    if kind == "cpu":
        if cpu_supports_bf16() if cpu_bf16 is None else cpu_bf16:
            return AmpPlan(kind, torch.bfloat16)
        return AmpPlan(
            kind, None, "amp=True: this CPU has no native bfloat16 (AVX512-BF16 or AMX); training in float32"
        )
    return AmpPlan(kind, None, f"amp=True is not supported on {kind}; training in float32")


def warn_amp(plan: AmpPlan) -> None:
    if plan.note:
        warnings.warn(plan.note, RuntimeWarning, stacklevel=3)


def has_conv2d(module: nn.Module) -> bool:
    return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in module.modules())


def use_channels_last(option: bool | None, module: nn.Module, device: torch.device) -> bool:
    """channels_last (NHWC) memory for 2-D convolutions: oneDNN (CPU) and cuDNN's tensor-core kernels
    run NHWC natively and NCHW through reorders. ``None`` (auto): on for modules with 2-D convolutions
    on CPU and CUDA."""
    if option is not None:
        return bool(option)
    return device.type in ("cpu", "cuda") and has_conv2d(module)


def to_memory_format(module: nn.Module, channels_last: bool, optimizer=None) -> None:
    """Convert the 4-D weights in place (parameters keep their identity, so optimizers stay valid), and
    the optimizer's per-parameter state with them (fused kernels want matching layouts)."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for p in module.parameters():
        if p.dim() == 4:
            p.data = p.data.contiguous(memory_format=fmt)
            state = optimizer.state.get(p, {}) if optimizer is not None else {}
            for k, v in state.items():
                if isinstance(v, torch.Tensor) and v.dim() == 4:
                    state[k] = v.contiguous(memory_format=fmt)


def batch_format(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """A (B, C, H, W) batch in channels_last memory when asked (other ranks pass through)."""
    if channels_last and x.dim() == 4:
        if x.shape[1] == 1 and x.is_contiguous():
            # one channel: NCHW and NHWC hold the same bytes, and contiguous() keeps the NCHW strides (which
            # also count as channels_last), so oneDNN would run the whole network in NCHW. Restride, no copy.
            h, w = x.shape[2:]
            return x.as_strided(x.shape, (h * w, 1, w, 1))
        return x.contiguous(memory_format=torch.channels_last)
    return x


def fits_on_device(nbytes: int, device: torch.device, free_bytes: int | None = None) -> bool:
    """Whether data of ``nbytes`` should live on ``device`` for the whole fit: always on the CPU; on a
    GPU when it takes at most RESIDENT_FRACTION of the free memory (``free_bytes`` overrides the query)."""
    if device.type == "cpu":
        return True
    if device.type != "cuda":
        return False
    if free_bytes is None:
        free_bytes = torch.cuda.mem_get_info(device)[0]
    return nbytes <= RESIDENT_FRACTION * free_bytes


def fused_ok(device: torch.device) -> bool:
    """torch's fused Adam/AdamW kernels exist for CPU and CUDA tensors."""
    return device.type in ("cpu", "cuda")
