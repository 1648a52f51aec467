"""The Keras-style layer table of :meth:`aekit.Autoencoder.summary`: each leaf layer with its output shape for
one sample (from one forward pass on zeros) and its parameter count."""

from __future__ import annotations

import torch


def layer_table(ae) -> str:
    """The table as text: name (class), output shape, parameters; then the totals and the code size."""
    shapes: dict = {}
    hooks = [
        m.register_forward_hook(lambda m, i, o, n=n: shapes.__setitem__(n, o))
        for n, m in ae.module.named_modules()
        if not list(m.children())
    ]
    try:
        was = ae.module.training
        ae.module.eval()
        with torch.inference_mode():
            ae.module(torch.zeros(1, *ae.input_shape, device=ae.device))
        ae.module.train(was)
    finally:
        for h in hooks:
            h.remove()

    def shape(o) -> str:
        o = o[0] if isinstance(o, (tuple, list)) else o
        return str((None, *o.shape[1:])) if torch.is_tensor(o) else "?"

    rows = [(f"{n or '(module)'} ({c})", shape(shapes.get(n)), f"{p:,}") for n, c, p in ae.layers()]
    w = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(("Layer (type)", "Output Shape", "Param #"))]
    line = "=" * (sum(w) + 4)
    fmt = lambda r: f"{r[0]:{w[0]}s}  {r[1]:{w[1]}s}  {r[2]:>{w[2]}s}"  # noqa: E731
    trainable = sum(p.numel() for p in ae.module.parameters() if p.requires_grad)
    text = "\n".join(
        [
            f'Model: "{ae.family}"',
            line,
            fmt(("Layer (type)", "Output Shape", "Param #")),
            line,
            *map(fmt, rows),
            line,
            f"Total params: {ae.n_params():,} (trainable {trainable:,}) - code size "
            f"{ae.code_size}, input {ae.input_shape}",
        ]
    )
    return text


__all__ = ["layer_table"]
