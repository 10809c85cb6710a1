"""What the service subcommands show: progress bars while waiting, then lines of text.

Only the server's JSON is read here, never ``ExperimentSpec``: a client one
version behind the service still prints what it gets.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradatlas.client import Experiment, GradatlasClient, Sweep


class _Bar:
    """A tqdm bar on stderr made at the first poll, so it starts at the total and step seen."""

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.bar: Any = None
        self.status = "queued"

    def show(self, status: str, done: int, total: int) -> None:
        from tqdm import tqdm

        self.status = status
        if self.bar is None or self.bar.total != total:
            if self.bar is not None:
                self.bar.close()
            # `initial`: joining a run half-way, its rate counts only the steps seen.
            self.bar = tqdm(
                total=total, initial=done, unit=self.unit, file=sys.stderr, dynamic_ncols=True
            )
        self.bar.set_description(status, refresh=False)
        self.bar.update(max(0, done - self.bar.n))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def watch(api: GradatlasClient, exp_id: str, timeout: float, poll_s: float) -> Experiment:
    """Poll until the experiment is final, a progress bar of its steps on stderr meanwhile."""
    bar = _Bar("step")

    def on_progress(exp: Experiment) -> None:
        bar.show(exp["status"], exp["progress"]["step"], exp["progress"]["total_steps"])

    try:
        return api.wait(exp_id, timeout=timeout, poll_s=poll_s, on_progress=on_progress)
    except KeyboardInterrupt:
        bar.close()
        hint = f"`gradatlas cancel {exp_id}` stops it"
        print(f"\n{exp_id} is still {bar.status} on the service; {hint}", file=sys.stderr)
        raise
    finally:
        bar.close()


def watch_sweep(api: GradatlasClient, sweep_id: str, timeout: float, poll_s: float) -> Sweep:
    """Poll until the sweep is final, a progress bar of its finished children meanwhile."""
    from gradatlas.client import FINAL

    bar = _Bar("run")

    def on_progress(sweep: Sweep) -> None:
        rows = sweep["children"]
        bar.show(sweep["status"], sum(r["status"] in FINAL for r in rows), len(rows))

    try:
        return api.wait_sweep(sweep_id, timeout=timeout, poll_s=poll_s, on_progress=on_progress)
    except KeyboardInterrupt:
        bar.close()
        print(f"\nsweep {sweep_id} keeps running on the service", file=sys.stderr)
        raise
    finally:
        bar.close()


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


def experiment_lines(exp: Experiment) -> list[str]:
    """A finished experiment: how it ended, its summary, the verdict, first evidence, remedies."""
    name = exp["spec"].get("name", "")
    head = f"{exp['id']} {name}: {exp['status']}"
    lines = [head + (f" ({exp['error']})" if exp["error"] else "")]
    s = exp["summary"]
    if s:
        depth = exp["spec"].get("model", {}).get("depth", "?")
        lines += [
            f"  steps: {s['steps_run']}/{s['total_steps']}"
            + (" (stopped on request)" if s.get("stopped") else ""),
            f"  step-0 gradient ratio, first layer / last (depth {depth}):"
            f" {_pow10(s['gradient_ratio_log10'])} (weights),"
            f" {_pow10(s['backprop_ratio_log10'])} (back-propagated)",
            f"  decay per layer: {_num(s['decay_per_layer'])} (weights),"
            f" {_num(s.get('backprop_decay_per_layer'))} (back-propagated)",
            f"  final accuracy: {_num(s['final_val_accuracy'])} (validation),"
            f" {_num(s.get('final_train_accuracy'))} (training)",
        ]
        if s.get("diverged_at_step") is not None:
            lines.append(f"  diverged at step {s['diverged_at_step']} (a NaN or inf gradient)")
    d = exp["diagnosis"]
    if d:
        lines.append(f"  verdict: {d['verdict']}")
        if d.get("evidence"):
            lines.append(f"    {d['evidence'][0]}")
        remedies = d.get("remedies") or []
        if remedies:
            lines.append(f"  remedies (try one: gradatlas remedy {exp['id']} K):")
            lines += [f"    {k}  {change_text(r['change'])}" for k, r in enumerate(remedies)]
    return lines


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
    if exp["status"] in ("succeeded", "failed", "cancelled"):
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
            (e["diagnosis"] or {}).get("verdict") or "",
            e["spec"].get("name", ""),
        )
        for e in items
    ]
    return table(("ID", "STATUS", "DONE", "CREATED", "VERDICT", "NAME"), rows)


def sweep_lines(sweep: Sweep) -> list[str]:
    """A finished sweep: its status and one row per child."""
    counts = ", ".join(f"{n} {status}" for status, n in sorted(sweep["counts"].items()))
    rows = [
        (
            " ".join(f"{k}={v}" for k, v in row["params"].items()),
            row["status"],
            _pow10(row["backprop_ratio_log10"]),
            _num(row["decay_per_layer"]),
            _num(row["final_val_accuracy"]),
            row["verdict"] or row["error"] or "",
            row["id"],
        )
        for row in sweep["children"]
    ]
    header = ("PARAMS", "STATUS", "RATIO", "DECAY", "VAL ACC", "VERDICT", "ID")
    return [f"{sweep['id']} {sweep['name']}: {sweep['status']} ({counts})", *table(header, rows)]
