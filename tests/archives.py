"""Zip archives built in memory, as the dataset registry's downloads are."""

import io
import zipfile


def zip_bytes(members):
    """The bytes of a zip archive holding ``{name: text or bytes}``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
