"""``make figures``: every figure of docs/tutorial.md, trained afresh from gradatlas/examples.

Each figure is ``docs/figures/NAME-PLOT.png``: the example NAME (or a one-field variant of
one, below) trained here on one core, drawn by the service's own plots. Same spec and seed,
same numbers, so rerunning it after a change shows what the change did to every claim.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.plots import render, render_derivatives
from core.spec import ExperimentSpec
from core.theory import predict
from core.train import train
from gradatlas import examples

OUT = Path(__file__).resolve().parent.parent / "docs" / "figures"
#: Variants of an example the tutorial needs, with the one field they change.
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    "leaky-relu-deep": ("relu-he-deep", {"activation": "leaky_relu"}),
    "swish-deep": ("relu-he-deep", {"activation": "swish"}),
}
#: The plots drawn for each run, beyond its gradient profile.
EXTRA: dict[str, tuple[str, ...]] = {
    "sigmoid-deep": ("training-curves", "update-ratio"),
    "relu-he-deep": ("training-curves",),
    "tanh-normal-exploding": ("training-curves",),
    "digits-relu": ("training-curves",),
}


def specs() -> dict[str, ExperimentSpec]:
    out = {name: examples.load(name) for name in examples.names()}
    for name, (base, model) in VARIANTS.items():
        spec = out[base]
        out[name] = spec.model_copy(
            update={"name": name, "model": spec.model.model_copy(update=model)}
        )
    return out


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, spec in specs().items():
        result = train(spec)
        for plot in ("gradient-profile", *EXTRA.get(name, ())):
            path = OUT / f"{name}-{plot}.png"
            path.write_bytes(render(plot, result, "png", theory=predict(spec)))
            print(f"wrote {path.relative_to(OUT.parent.parent)}", file=sys.stderr)
    path = OUT / "derivatives.png"
    path.write_bytes(render_derivatives(["sigmoid", "tanh", "relu", "leaky_relu", "swish"], "png"))
    print(f"wrote {path.relative_to(OUT.parent.parent)}", file=sys.stderr)


if __name__ == "__main__":
    main()
