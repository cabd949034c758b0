"""Errors that name what was wrong and what is expected."""


class ArlmError(Exception):
    """Base class of every error arlm raises on bad input."""


class ParameterError(ArlmError, ValueError):
    """An unknown scale, parameter or a value of the wrong type."""


class DatasetError(ArlmError):
    """A dataset that is missing, corrupt or malformed."""


class DownloadError(DatasetError):
    """A dataset that is neither in the data mirror nor in the cache, and could not be downloaded."""


class ArtifactError(ArlmError, FileNotFoundError):
    """An artifact of an earlier chapter that is missing or unreadable."""


class InUseError(ArlmError):
    """An output folder or file that another running process is writing (`arlm.files.locked`)."""


class DiskFullError(ArlmError):
    """No space left on the device that an output is written to."""


class TrainingDiverged(ArlmError):
    """The loss became NaN or infinite: the learning rate is too high for this model and data."""
