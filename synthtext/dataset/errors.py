"""One exception type for user mistakes, so the CLI prints one line instead of a traceback."""


class UserError(Exception):
    """A problem with the user's input (file, option, directory) and what to do about it.

    The message is a single line that names the file or option and the fix; the CLI prints
    it as ``Error: <message>`` and exits with status 2.
    """


class CorpusError(UserError):
    """A corpus file is missing, empty, undecodable or unusable."""


class FontError(UserError):
    """A font, font directory or font manifest is unusable."""


class ConfigError(UserError):
    """An option value or configuration file is invalid."""


class MissingFileError(UserError):
    """A file the user named does not exist: a local shard, or a URL answering 404 or 410."""
