"""The exceptions upframe raises.

Every error is an :class:`UpframeError` whose message is the one-line message the ``upframe``
command-line tool prints after ``upframe: error:``. Subclasses say what went wrong:

- :class:`InputError`: a missing, unreadable, truncated or unsupported input, or an array of
  the wrong shape or dtype (also a :class:`ValueError`);
- :class:`OutputError`: an output that exists (without ``overwrite=True``), cannot be written,
  or would overwrite the input;
- :class:`ModelError`: unknown model name, missing or unusable weight file;
- :class:`OptionError`: an option value out of range (also a :class:`ValueError`);
- :class:`Interrupted`: a job stopped by Ctrl-C or by ``KeyboardInterrupt`` raised from a
  progress callback. The complete segments are kept and the same call resumes. It is also a
  :class:`KeyboardInterrupt`, so ``except KeyboardInterrupt`` handlers keep working.
"""

from __future__ import annotations

__all__ = [
    "UpframeError",
    "InputError",
    "OutputError",
    "ModelError",
    "OptionError",
    "Interrupted",
]


class UpframeError(Exception):
    """Base class of every error upframe raises."""


class InputError(UpframeError, ValueError):
    """The input (file, folder, pattern or array) cannot be used."""


class OutputError(UpframeError):
    """The output cannot be written (exists, not writable, or is the input)."""


class ModelError(UpframeError):
    """The model cannot be found or its weights cannot be used."""


class OptionError(UpframeError, ValueError):
    """An option has a value upframe does not accept."""


class Interrupted(UpframeError, KeyboardInterrupt):
    """The job was interrupted; complete segments are kept and a re-run resumes."""
