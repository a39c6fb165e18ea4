"""The one exception augment raises for a bad config, preset, op parameter or params record.

:mod:`augment` knows nothing of the project around it, so it has its own error class; the
project's glue (:mod:`synthtext.augmenting.samples`) turns it into the project's one-line
user error.  It subclasses ``ValueError`` so plain Python callers can catch it as such.
"""


class AugmentConfigError(ValueError):
    """An augmentation config, preset name, op parameter or recorded params record is invalid.

    The message is one line that names the culprit (file, node path such as
    ``sequence[1].one_of[0]``, op, parameter) and what would be accepted instead.
    """
