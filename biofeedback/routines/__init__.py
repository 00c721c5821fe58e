"""Guided routines as data, what they say, and shaping them to a person."""
