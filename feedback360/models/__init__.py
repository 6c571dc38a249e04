"""The data model (DESIGN.md, "Data model"): typed SQLAlchemy 2.0 models and nothing else.

Check constraints make invalid states impossible in the database itself, whatever code writes to it.
Who answered (``Invitation``) is kept apart from what they answered (``Response``, ``Answer``,
``Comment``): no column, foreign key or timestamp links the two (DESIGN.md, Anonymity rule 1).
One module per area; everything is importable from here.
"""

from .columns import UTCDateTime, utcnow
from .cycles import (
    CYCLE_STATUSES,
    INVITATION_STATUSES,
    NOMINEE_APPROVAL_STATUSES,
    CohortLaunch,
    CohortLaunchCycle,
    FeedbackCycle,
    InstrumentVersion,
    Invitation,
    NomineeApproval,
)
from .people import ROLES, CoachAssignment, Cohort, LeadProgramme, User
from .reports import (
    GOAL_STATUSES,
    CoachNote,
    CycleScore,
    CycleSummary,
    DevelopmentGoal,
    StoredCohortAnalysis,
)
from .responses import COMMENT_MAX_LENGTH, Answer, Comment, Response, SealedResponse
from .system import OUTBOX_STATUSES, AuditEvent, AuditRetention, OutboxMessage
from .two_factor import RecoveryCode, TwoFactorKey

__all__ = [
    "COMMENT_MAX_LENGTH", "CYCLE_STATUSES", "GOAL_STATUSES", "INVITATION_STATUSES",
    "NOMINEE_APPROVAL_STATUSES", "OUTBOX_STATUSES", "ROLES", "Answer", "AuditEvent",
    "AuditRetention",
    "CoachAssignment", "CoachNote", "Cohort", "CohortLaunch", "CohortLaunchCycle", "Comment",
    "CycleScore", "CycleSummary", "DevelopmentGoal", "FeedbackCycle", "InstrumentVersion",
    "Invitation", "LeadProgramme", "NomineeApproval", "OutboxMessage", "RecoveryCode", "Response",
    "SealedResponse", "StoredCohortAnalysis", "TwoFactorKey",
    "UTCDateTime", "User", "utcnow",
]
