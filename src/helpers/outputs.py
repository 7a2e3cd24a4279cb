"""Writing results safely: atomic files, and output paths that stay inside --out."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def applicant_dir(out: str | Path, applicant_id: str) -> Path:
    """The applicant's folder under `out`; refuses anything that would land outside it."""
    base = Path(out).resolve()
    target = (base / applicant_id).resolve()
    if target.parent != base or applicant_id in ("", ".", ".."):
        raise ValueError(f"applicant_id {applicant_id!r} would write outside {base}")
    return target
