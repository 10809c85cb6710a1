"""The benchmark's peer: the same networks in PyTorch, bare or recording the same statistics.

"With statistics" is what a researcher would write to get gradatlas's per-layer record
from PyTorch: a tensor hook on each Linear output for dLoss/dz, forward hooks on the
activations for their outputs, and after backward, per Linear layer, the gradient's norm,
mean, std and max |.|, the back-propagated norm, the weight norm, the update ratio
(lr ||g|| / ||W||, plain SGD), the weight change ||W - W0|| / ||W0||, and per layer the
outputs' mean, std, saturation share and dead-unit share, gathered with one ``tolist``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from bench.cases import CLASSES, FEATURES, LR, Case

#: Flat tails of the saturating activations, as in core.nn.activations: |h - c| > r.
SATURATION = {"sigmoid": (0.5, 0.49), "tanh": (0.0, 0.99)}


class _Residual(torch.nn.Module):
    def __init__(self, body: torch.nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = x + self.body(x)
        return out


def build(case: Case) -> tuple[torch.nn.Sequential, type[torch.nn.Module]]:
    torch.manual_seed(0)
    act = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}[
        case.activation
    ]

    def hidden(n_in: int) -> list[torch.nn.Module]:
        mods: list[torch.nn.Module] = [torch.nn.Linear(n_in, case.width)]
        if case.batch_norm:
            mods.append(torch.nn.BatchNorm1d(case.width))
        mods.append(act())
        return mods

    layers: list[torch.nn.Module] = hidden(FEATURES)
    if case.residual:
        rest = list(range(1, case.depth))
        for i in range(0, len(rest), 2):
            body = [m for _ in rest[i : i + 2] for m in hidden(case.width)]
            layers.append(_Residual(torch.nn.Sequential(*body)))
    else:
        for _ in range(case.depth - 1):
            layers.extend(hidden(case.width))
    layers.append(torch.nn.Linear(case.width, CLASSES))
    return torch.nn.Sequential(*layers), act


def torch_step(case: Case, *, stats: bool = False) -> Callable[[], None]:
    """One training step; with ``stats``, the per-layer statistics recorded every step."""
    model, act = build(case)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(case.batch, FEATURES)
    y = torch.randint(0, CLASSES, (case.batch,))
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    records: list[list[list[float]]] = []
    if not stats:

        def bare() -> None:
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            opt.step()

        return bare

    dz: list[torch.Tensor] = []
    outs: list[torch.Tensor] = []
    w0 = [m.weight.detach().clone() for m in linears]
    w0_norm = [w.norm() for w in w0]
    sat = SATURATION.get(case.activation)
    can_die = case.activation == "relu"

    def keep_grad(_m: torch.nn.Module, _i: tuple[torch.Tensor, ...], o: torch.Tensor) -> None:
        hook: Callable[..., object] = o.register_hook  # torch leaves it untyped
        hook(dz.append)

    def keep_out(_m: torch.nn.Module, _i: tuple[torch.Tensor, ...], o: torch.Tensor) -> None:
        outs.append(o.detach())

    for lin in linears:
        lin.register_forward_hook(keep_grad)
    for mod in model.modules():
        if isinstance(mod, act):
            mod.register_forward_hook(keep_out)

    def record() -> None:
        rows = []
        with torch.no_grad():
            for m, g_out, W0, n0 in zip(linears, reversed(dz), w0, w0_norm, strict=True):
                W, g = m.weight, m.weight.grad
                assert g is not None
                gn, wn = g.norm(), W.norm()
                rows.append(
                    torch.stack(
                        [
                            gn,
                            g.mean(),
                            g.std(correction=0),
                            g.abs().max(),
                            (g_out.square().sum() / case.batch).sqrt(),
                            wn,
                            LR * gn / wn,
                            (W - W0).norm() / n0,
                        ]
                    )
                )
            acts = []
            for i, h in enumerate(outs):
                hidden = i < len(outs) - 1  # the last is the logits: no tails, no dead units
                mean, std = h.mean(), h.std(correction=0)
                s = ((h - sat[0]).abs() > sat[1]).float().mean() if sat and hidden else mean * 0
                dead = (h.sum(0) == 0).float().mean() if can_die and hidden else mean * 0
                acts.append(torch.stack([mean, std, s, dead]))
            records.append([torch.stack(rows).tolist(), torch.stack(acts).tolist()])
        if len(records) > 64:
            records.clear()

    def step() -> None:
        dz.clear()
        outs.clear()
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        outs.append(logits.detach())
        loss_fn(logits, y).backward()
        record()
        opt.step()

    return step
