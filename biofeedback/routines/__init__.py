"""Guided routines as data, what they say, and shaping them to a person."""

# The profile's choices (``profile.py`` checks them), here so that the argument
# parser can offer them without loading the profile and its dataclasses: every
# command, `--help` too, builds the parser.
POSITIONS = ("sitting", "lying", "side-lying", "reclined")
EYES = ("open", "closed")
