"""Simulated people and straps, for running and testing without hardware.

May import ``biofeedback.models`` and ``biofeedback.sensors.hrm`` only.
"""
