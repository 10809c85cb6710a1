# %% [markdown]
# # A sweep from a notebook: how the gradient ratio falls with depth
#
# Run it as a script (`python examples/sweep_notebook.py`, with `make run` serving on
# http://127.0.0.1:8000 or `$GRADATLAS_URL`), or open it in Jupyter (its `# %%` cells
# are notebook cells for Jupytext and VS Code). It submits a grid of activations x depths,
# waits for it over the live event stream, reads every child's statistics as NumPy
# arrays and plots log10(gradient of layer 0 / gradient of the last hidden layer)
# against depth. It writes `sweep.png` beside where it runs.

# %%
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # in Jupyter, drop this line to see the figure inline
import matplotlib.pyplot as plt
import numpy as np

from gradatlas import Client

api = Client(owner="sweep-notebook")
sweep = api.submit_sweep(
    {
        "name": "notebook-depths",
        "base": {
            "seed": 0,
            "model": {"width": 32, "init": "xavier_normal"},
            "data": {"dataset": "spiral", "n_samples": 600},
            "training": {"epochs": 2},
        },
        "grid": {"model.activation": ["sigmoid", "tanh", "relu"], "model.depth": [2, 5, 10, 20]},
    }
)
print(f"sweep {sweep['id']}: {len(sweep['children'])} experiments")

# %%
done = api.wait_sweep(sweep["id"], timeout=600)
print(done["status"], done["counts"])

# %% The statistics as arrays: stats["grad_norm"] is (records, layers).
curves: dict[str, list[tuple[int, float]]] = {}
for row in done["children"]:
    if row["status"] != "succeeded":
        continue
    result = api.stats(row["id"], as_arrays=True)
    g0 = result.stats["grad_norm"][0]  # step 0, every layer
    depth = int(row["params"]["model.depth"])
    ratio = float(np.log10(g0[0] / g0[depth - 1]))
    curves.setdefault(str(row["params"]["model.activation"]), []).append((depth, ratio))

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for activation, points in sorted(curves.items()):
    xs, ys = zip(*sorted(points), strict=True)
    ax.plot(xs, ys, marker="o", label=activation)
ax.axhline(0, color="grey", lw=0.8)
ax.set_xlabel("depth (hidden layers)")
ax.set_ylabel("log10 gradient ratio, layer 0 / last hidden")
ax.set_title("Gradients at step 0: sigmoid vanishes with depth, ReLU does not")
ax.legend()
fig.savefig("sweep.png", dpi=100, bbox_inches="tight")
print("wrote sweep.png")

# %% In a notebook, one experiment shows its gradient profile inline:
first = api.experiment(done["children"][0]["id"])
first  # noqa: B018
