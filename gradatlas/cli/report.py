"""What the ``gradatlas`` subcommands print: progress bars on stderr, reports as lines of text.

One report for a run, whether it ran here (``gradatlas run``) or on the service
(``gradatlas wait``, ``status``, ``submit --wait``): the summary's numbers and
the diagnosis are printed by :func:`summary_lines` and :func:`diagnosis_lines`
in both. Only JSON shapes are read here, never ``ExperimentSpec``: a client one
version behind the service still prints what it gets.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Any

from gradatlas.types import FINAL

if TYPE_CHECKING:
    from gradatlas.errors import ApiError
    from gradatlas.types import Diagnosis, Experiment, Summary, Sweep


class ProgressBar:
    """A tqdm bar on stderr, made at the first :meth:`show` so it starts at the total and
    step seen then (joining a run half-way, its rate counts only the steps seen)."""

    def __init__(self, unit: str, *, disable: bool = False) -> None:
        self.unit = unit
        self.disable = disable
        self.bar: Any = None
        self.label = "queued"

    def show(self, label: str, done: int, total: int, *, epoch: int | None = None) -> None:
        from tqdm import tqdm

        self.label = label
        if self.bar is None or self.bar.total != total:
            self.close()
            self.bar = tqdm(
                desc=label,
                total=total,
                initial=done,
                unit=self.unit,
                file=sys.stderr,
                dynamic_ncols=True,
                disable=self.disable,
            )
        self.bar.set_description(label, refresh=False)
        if epoch is not None:
            self.bar.set_postfix(epoch=epoch, refresh=False)
        self.bar.update(max(0, done - self.bar.n))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _num(value: float | None, spec: str = ".3g") -> str:
    return "n/a" if value is None else format(value, spec)


def _pow10(log10: float | None) -> str:
    return "n/a" if log10 is None else f"10^{log10:.2f}"


def change_text(change: dict[str, Any]) -> str:
    """``{"model.activation": "relu"}`` as ``model.activation=relu``."""
    return " ".join(
        f"{path}={value if isinstance(value, str) else json.dumps(value)}"
        for path, value in change.items()
    )


def _steps(s: Summary) -> str:
    return f"{s['steps_run']}/{s['total_steps']}"


def _stopped(s: Summary) -> str:
    return " (stopped on request)" if s.get("stopped") else ""


def summary_lines(s: Summary, depth: int | None) -> list[str]:
    """The summary's numbers (docs/contract.md § Result), two-space indented."""
    last = f"layer {depth - 1}" if depth is not None else "the last hidden layer"
    lines = [
        f"  step-0 gradient ratio, layer 0 / {last}:"
        f" {_pow10(s['gradient_ratio_log10'])} (weights),"
        f" {_pow10(s['backprop_ratio_log10'])} (back-propagated)",
        f"  decay per layer: {_num(s['decay_per_layer'])} (weights),"
        f" {_num(s.get('backprop_decay_per_layer'))} (back-propagated)",
        f"  final accuracy: {_num(s['final_val_accuracy'])} (validation),"
        f" {_num(s.get('final_train_accuracy'))} (training)",
    ]
    if s.get("diverged_at_step") is not None:
        lines.append(f"  diverged at step {s['diverged_at_step']} (a NaN or inf gradient)")
    return lines


def diagnosis_lines(d: Diagnosis | None, how_to_remedy: str) -> list[str]:
    """The verdict, its first piece of evidence and the remedies, numbered from 0."""
    if not d:
        return []
    lines = [f"  verdict: {d['verdict']}"]
    if d.get("evidence"):
        lines.append(f"    {d['evidence'][0]}")
    remedies = d.get("remedies") or []
    if remedies:
        lines.append(f"  remedies (try one: {how_to_remedy}):")
        lines += [f"    {k}  {change_text(r['change'])}" for k, r in enumerate(remedies)]
    return lines


def run_lines(name: str, s: Summary, d: Diagnosis | None, depth: int) -> list[str]:
    """The report of a local run (``gradatlas run``)."""
    return [
        f"{name}: {_steps(s)} steps{_stopped(s)}",
        *summary_lines(s, depth),
        *diagnosis_lines(d, "change the spec and run it again"),
    ]


def experiment_lines(exp: Experiment) -> list[str]:
    """A finished experiment on the service: how it ended, then the report of a run."""
    name = exp["spec"].get("name", "")
    head = f"{exp['id']} {name}: {exp['status']}"
    lines = [head + (f" ({exp['error']})" if exp["error"] else "")]
    s = exp["summary"]
    if s:
        depth = exp["spec"].get("model", {}).get("depth")
        lines.append(f"  steps: {_steps(s)}{_stopped(s)}")
        lines += summary_lines(s, depth if isinstance(depth, int) else None)
    lines += diagnosis_lines(exp["diagnosis"], f"gradatlas remedy {exp['id']} K")
    return lines


def problem_lines(exc: ApiError) -> list[str]:
    """``ERROR <status> <title>: <detail>`` and ``  field: message`` per bad field."""
    title = exc.title or _reason(exc.status)
    lines = [f"ERROR {exc.status} {title}: {exc.detail}"]
    for err in exc.errors:
        lines.append(f"  {err.get('field', '?')}: {err.get('message', '')}")
    return lines


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def status_lines(exp: Experiment) -> list[str]:
    """Where an experiment stands; once it is final, its report too."""
    p = exp["progress"]
    where = f"step {p['step']}/{p['total_steps']} ({p['fraction']:.0%}), epoch {p['epoch']}"
    lines = [
        f"{exp['id']} {exp['spec'].get('name', '')}",
        f"  status: {exp['status']}"
        + (" (cancel requested)" if exp.get("cancel_requested") else "")
        + f", {where}, attempt {exp['attempts']}",
        f"  created {exp['created_at']}, started {exp['started_at'] or '-'},"
        f" finished {exp['finished_at'] or '-'}",
    ]
    origin = exp.get("meta") or {}
    if "derived_from" in origin:
        lines.append(f"  remedy {origin.get('remedy')} of {origin['derived_from']}")
    if "sweep" in origin:
        lines.append(f"  in sweep {origin['sweep']}")
    if exp["status"] in FINAL:
        lines += experiment_lines(exp)[1:]
        if exp["error"]:
            lines.append(f"  error: {exp['error']}")
    return lines


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart."""
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]


def list_lines(items: Sequence[Experiment]) -> list[str]:
    if not items:
        return ["no experiments"]
    rows = [
        (
            e["id"],
            e["status"],
            f"{e['progress']['fraction']:.0%}",
            e["created_at"],
            e["diagnosis"]["verdict"] if e["diagnosis"] else "",
            e["spec"].get("name", ""),
        )
        for e in items
    ]
    return table(("ID", "STATUS", "DONE", "CREATED", "VERDICT", "NAME"), rows)


#: The sweep table's columns: each ratio and each decay says which gradient it is about.
SWEEP_HEADER = (
    "PARAMS",
    "STATUS",
    "BACKPROP 0/LAST",
    "BACKPROP /LAYER",
    "WEIGHT-GRAD 0/LAST",
    "WEIGHT-GRAD /LAYER",
    "VAL ACC",
    "VERDICT",
    "ID",
)


def sweep_lines(sweep: Sweep) -> list[str]:
    """A finished sweep: its status and one row per child.

    Both ratios (layer 0 over the last hidden layer at step 0, as 10^x) and both
    factors per layer, of the back-propagated norm and of the weight gradient.
    """
    counts = ", ".join(f"{n} {status}" for status, n in sorted(sweep["counts"].items()))
    rows = [
        (
            " ".join(f"{k}={v}" for k, v in row["params"].items()),
            row["status"],
            _pow10(row["backprop_ratio_log10"]),
            _num(row.get("backprop_decay_per_layer")),
            _pow10(row.get("weight_grad_ratio_log10", row["gradient_ratio_log10"])),
            _num(row.get("weight_grad_decay_per_layer", row["decay_per_layer"])),
            _num(row["final_val_accuracy"]),
            row["verdict"] or row["error"] or "",
            row["id"],
        )
        for row in sweep["children"]
    ]
    return [
        f"{sweep['id']} {sweep['name']}: {sweep['status']} ({counts})",
        *table(SWEEP_HEADER, rows),
    ]
