"""Estimation, pure: clean beats, HRV windows, arousal, the breath, resonance."""
