"""Eyes-closed practice: the session's events as speech, breath tones and bells.

``phrases`` knows every text a protocol can say; ``voice`` turns them into
clips (a person's own recordings, else espeak-ng, cached); ``score`` places
sounds on the session's timeline from its events (pure); ``mixer`` turns that
timeline into samples (pure); ``render`` writes a whole session to a WAV file
in session time; ``device`` is the one module that touches the audio library;
``sink`` is the session sink that plays it all live.
"""

from __future__ import annotations

from biofeedback import BiofeedbackError

SAMPLE_RATE_HZ = 22050


class AudioError(BiofeedbackError):
    """Audio cannot be set up as asked; the message says what to do."""


class AudioOutError(AudioError):
    """The ``--audio-out`` file cannot be written."""
