"""The server's own limits on a valid spec, each a 422 naming a field and the limit."""

from __future__ import annotations

from core.errors import FieldError, SpecError, listed
from core.settings import Settings
from core.spec import ExperimentSpec


def check_limits(spec: ExperimentSpec, s: Settings) -> None:
    """Raise ``SpecError`` listing every limit ``spec`` exceeds (cheap: no NumPy)."""
    errors: list[FieldError] = []

    def over(field: str, message: str, limit: float, value: float) -> None:
        errors.append(FieldError(field, message, limit={"le": limit}, input=value))

    m = spec.model
    if m.depth > s.max_depth:
        over(
            "model.depth",
            f"this server runs at most {s.max_depth} hidden layers "
            f"(GRADATLAS_MAX_DEPTH); asked for {m.depth}",
            s.max_depth,
            m.depth,
        )
    widest = max(m.widths)
    if widest > s.max_width:
        over(
            "model.width",
            f"this server runs hidden layers of at most {s.max_width} units "
            f"(GRADATLAS_MAX_WIDTH); asked for {widest}",
            s.max_width,
            widest,
        )
    cost = spec.cost()
    if cost.flops > s.max_flops:
        over(
            "training.epochs",
            f"this spec needs about {cost.flops:.3g} floating-point "
            f"operations; this server allows {s.max_flops:.3g} (GRADATLAS_MAX_FLOPS): "
            f"lower training.epochs, data.n_samples, model.depth or model.width",
            s.max_flops,
            cost.flops,
        )
    if cost.records > s.max_records:
        over(
            "recording.every_steps",
            f"this spec records statistics {cost.records} times; "
            f"this server keeps at most {s.max_records} (GRADATLAS_MAX_RECORDS): raise "
            f"recording.every_steps",
            s.max_records,
            cost.records,
        )
    if cost.record_values > s.max_record_values:
        over(
            "recording.every_steps",
            f"this spec records {cost.record_values} values; this "
            f"server keeps at most {s.max_record_values} (GRADATLAS_MAX_RECORD_VALUES): raise "
            f"recording.every_steps or lower model.depth",
            s.max_record_values,
            cost.record_values,
        )
    memory = spec.memory()
    limit_bytes = s.max_memory_mb * 2**20
    if memory.total > limit_bytes:
        mib = 2**20
        over(
            memory.field,
            f"this spec needs about {memory.total / mib:,.0f} MiB to run (parameters and "
            f"optimiser state {memory.parameters / mib:,.0f}, activations "
            f"{memory.activations / mib:,.0f}, data {memory.data / mib:,.0f}); this server "
            f"allows {s.max_memory_mb:,.0f} MiB (GRADATLAS_MAX_MEMORY_MB): lower {memory.field}"
            f", model.depth or training.batch_size",
            s.max_memory_mb,
            round(memory.total / mib, 1),
        )
    if errors:
        n = len(errors)
        raise SpecError(
            f"{n} field{'s exceed' if n > 1 else ' exceeds'} a server limit: {listed(errors)}",
            errors,
        )
