"""The data that flows through a session: samples in, estimates, steps and events out.

Everything here is a frozen dataclass or an enum with no behaviour beyond
conversion, so every layer can import it without pulling anything else in.
The parts: ``core`` (samples, estimates, zones, steps), ``events`` (what a
session says) and ``records`` (what the store hands back).
"""

from biofeedback.models.core import (
    Action,
    ArousalEstimate,
    BaselineHow,
    ChestMotion,
    Contact,
    HeartSample,
    Quality,
    SourceStatus,
    Step,
    StepKind,
    Zone,
)
from biofeedback.models.events import (
    Advice,
    Baseline,
    Estimate,
    PlanChosen,
    ResonanceAssessed,
    ResonanceUpdate,
    SessionEnded,
    SessionEvent,
    SessionStarted,
    SignalLost,
    SignalRestored,
    StepEnded,
    StepExtended,
    StepStarted,
    UnknownEventError,
    UserActed,
    ZoneChanged,
    event_from_dict,
)
from biofeedback.models.records import (
    QUALITY_ORDER,
    ColumnRows,
    EstimateRow,
    Recording,
    SampleRow,
    SessionInfo,
    StoredSession,
)

__all__ = [
    "QUALITY_ORDER",
    "Action",
    "Advice",
    "ArousalEstimate",
    "Baseline",
    "BaselineHow",
    "ChestMotion",
    "ColumnRows",
    "Contact",
    "Estimate",
    "EstimateRow",
    "HeartSample",
    "PlanChosen",
    "Quality",
    "Recording",
    "ResonanceAssessed",
    "ResonanceUpdate",
    "SampleRow",
    "SessionEnded",
    "SessionEvent",
    "SessionInfo",
    "SessionStarted",
    "SignalLost",
    "SignalRestored",
    "SourceStatus",
    "Step",
    "StepEnded",
    "StepExtended",
    "StepKind",
    "StepStarted",
    "StoredSession",
    "UnknownEventError",
    "UserActed",
    "Zone",
    "ZoneChanged",
    "event_from_dict",
]
