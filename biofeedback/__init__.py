"""biofeedback: heart-paced progressive muscle relaxation."""

__version__ = "0.1.0"


class BiofeedbackError(Exception):
    """Root of every error this package raises on purpose.

    ``str(error)`` is one line a user can act on; the CLI prints it and exits 2.
    """
