"""The validation scorecard: every calibration target and model constraint, model vs data.

    from immunocycle.validate import run_validation
    card = run_validation(quick=True)
    card.to_frame()          # one row per target: model, band, status
    card.failed              # rows that fail (not the known gaps)

Targets are data (``data/validation/*.yaml``, :func:`load_targets`); how the model computes each
value is a registered check kind (:func:`check_kind`, :data:`KINDS`).
"""

from immunocycle.validate import (  # noqa: F401 (kinds)
    _clinical,
    _constraints,
    _pk,
    _preclinical,
    _toxicity,
)
from immunocycle.validate._registry import (
    KINDS,
    Context,
    Measurement,
    NotModelled,
    check_kind,
)
from immunocycle.validate._scorecard import (
    Scorecard,
    band_text,
    evaluate,
    model_text,
    run_validation,
    to_markdown,
    write_scorecard,
)
from immunocycle.validate._targets import DATA_DIR, Target, load_targets, wilson

__all__ = ["DATA_DIR", "KINDS", "Context", "Measurement", "NotModelled", "Scorecard", "Target",
           "band_text", "check_kind", "evaluate", "load_targets", "model_text", "run_validation",
           "to_markdown", "wilson", "write_scorecard"]
