"""Personal practice across sessions: ratings, gentler routines, today's suggestion, the plan.

Pure: nothing here reads a clock, a file or the store. The CLI hands in what
the store recorded (``SessionOutcome``), the plan from the config file and
``now``; these modules decide and return data. ``ratings`` holds the 0-10
self-ratings, ``outcome`` what a past session left behind, ``adapt`` the
cross-session step to a gentler routine, ``today`` the suggestion for today,
``plan`` the weekly plan and ``ics`` its calendar file, ``stats`` the patterns
over sessions (median change, share with a Wilson interval, streaks).
"""

from biofeedback import BiofeedbackError


class PracticeError(BiofeedbackError):
    """Bad practice input (a rating, a plan entry); the message names what to fix."""


__all__ = ["PracticeError"]
