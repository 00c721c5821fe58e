"""Simulated people and straps, for running and testing without hardware.

May import ``biofeedback.models`` and ``biofeedback.sensors.hrm`` only.
"""


class SimulatorError(Exception):
    """Root of the errors the simulators raise on purpose.

    ``str(error)`` is one line a user can act on: ``python -m simulators``
    prints it and exits 2.
    """
