"""The exceptions upframe raises.

Every error is an :class:`UpframeError` whose message is the one-line message the ``upframe``
command-line tool prints after ``upframe: error:``. Subclasses say what went wrong:

- :class:`InputError`: a missing, unreadable, truncated or unsupported input, or an array of
  the wrong shape or dtype (also a :class:`ValueError`);
- :class:`OutputError`: an output that exists (without ``overwrite=True``), cannot be written,
  or would overwrite the input;
- :class:`ModelError`: unknown model name, missing or unusable weight file;
- :class:`OptionError`: an option value out of range (also a :class:`ValueError`);
- :class:`ResumeError`: an interrupted job's segments belong to another job (changed input,
  option or model) or its work directory is locked or damaged; ``restart=True`` starts over;
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
    "ResumeError",
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


class ResumeError(UpframeError):
    """An interrupted job cannot be resumed as asked; ``restart=True`` starts over."""


class Interrupted(UpframeError, KeyboardInterrupt):
    """The job was interrupted; complete segments are kept and a re-run resumes."""
