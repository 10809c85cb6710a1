"""Jupyter helpers: an experiment that shows its gradient profile inline.

::

    api = Client()
    exp = api.experiment(api.submit(spec)["id"])
    exp.wait()
    exp          # in a notebook: its status, verdict and gradient profile
    exp.stats()  # core.run_result.RunResult: NumPy arrays, stats["grad_norm"] is (records, layers)
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.run_result import RunResult
    from gradatlas.client import Client
    from gradatlas.types import Experiment


class ExperimentHandle:
    """One experiment of a service, as a notebook shows it (``_repr_html_``, ``_repr_png_``)."""

    def __init__(self, client: Client, experiment_id: str) -> None:
        self.client, self.id = client, experiment_id

    def __repr__(self) -> str:
        return f"<experiment {self.id}: {self.info()['status']}>"

    def info(self) -> Experiment:
        """The experiment as ``GET /v1/experiments/{id}`` answers now."""
        return self.client.get(self.id)

    def wait(self, **options: Any) -> Experiment:
        """``Client.wait``: over the live events, else by polling."""
        return self.client.wait(self.id, **options)

    def stats(self) -> RunResult:
        """The recorded statistics as NumPy arrays (partial while it runs)."""
        return self.client.stats(self.id, as_arrays=True)

    def plot(self, name: str = "gradient-profile") -> bytes:
        return self.client.plot(self.id, name, "png")

    def _repr_png_(self) -> bytes | None:
        """The gradient profile as it stands; None while nothing is recorded."""
        from gradatlas.errors import Conflict

        try:
            return self.plot()
        except Conflict:  # queued: nothing recorded yet
            return None

    def _repr_html_(self) -> str:
        exp = self.info()
        name = html.escape(str(exp["spec"].get("name", "")))
        rows = [f"<b>{name}</b> <code>{self.id}</code>: {html.escape(exp['status'])}"]
        if exp["diagnosis"]:
            rows.append(f"verdict: <b>{html.escape(exp['diagnosis']['verdict'])}</b>")
        png = self._repr_png_()
        if png is not None:
            data = base64.b64encode(png).decode()
            rows.append(
                f'<img alt="gradient profile of {name}" src="data:image/png;base64,{data}">'
            )
        return "<div>" + "<br>".join(rows) + "</div>"
