"""Writing a file whole, atomically, without following symbolic links.

Statements, batch documents, ``networks.json``, the chain's bookkeeping and
keystores are written here. A fixed temporary name (``.name.tmp<pid>``) lets
another local user plant a symbolic link there and have the write land on a
file of their choosing; so the temporary file gets an unpredictable name from
:func:`tempfile.mkstemp` (created with ``O_EXCL``, which never follows a link),
is written, synced and renamed over the destination. A destination that is a
symbolic link is refused rather than replaced: the caller named a path that
points elsewhere, and silently replacing the link is as surprising as writing
through it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from provenance.errors import InvalidValue

__all__ = ["write_atomic"]


def write_atomic(path: Path, data: bytes | str, *, mode: int = 0o644, replace: bool = True) -> None:
    """Write ``data`` (str as UTF-8) to ``path`` with ``mode``: a crash leaves the old file or the new one.

    The parent folder is created when missing. A ``path`` that is a symbolic
    link is refused with :class:`InvalidValue` naming it; with ``replace=False``
    an existing file is left alone and :class:`FileExistsError` raised (the
    check and the write are one ``link`` call, so no race between them). Other
    failures raise the ``OSError`` of the system call; the temporary file is
    removed in every case.
    """
    path = Path(path)
    blob = data.encode("utf-8") if isinstance(data, str) else data
    _refuse_link(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp: O_CREAT | O_EXCL | O_NOFOLLOW, mode 0600, a random name in the destination's folder
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    renamed = False
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            _refuse_link(path)  # once more, just before: rename would replace a link planted meanwhile
            os.replace(tmp, path)
            renamed = True
        else:
            os.link(tmp, path)  # fails with EEXIST on any existing entry, a link included; never follows it
    finally:
        if not renamed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    _sync_folder(path.parent)


def _refuse_link(path: Path) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise InvalidValue(
            f"refusing to write {path}: it is a symbolic link",
            hint="remove the link, or name the file it points to",
        )


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX: the folder's entry is data of the folder)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:
        return  # a folder that cannot be opened for reading: the file is written, only not yet durable
    try:
        with contextlib.suppress(OSError):  # some file systems refuse fsync on folders; the write succeeded
            os.fsync(fd)
    finally:
        os.close(fd)
