"""A driver's manifest, and the folder where its program is built and run.

A driver (docs/driver-protocol.md) is a folder with a JSON manifest: the programs it requires,
its input files, the commands that build it and the command that starts it. The inputs are copied
into a folder of the user's cache named by a hash of everything that shapes the build (the
manifest, the inputs, and where the required programs are and when they changed), and built
there once: the driver's own folder, perhaps read-only inside an installed package, is never
written. Two test processes preparing the same driver at once (xdist workers) take turns on a
lock file, so the second finds the first's build.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROTOCOL = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_KEYS = {"protocol", "name", "requires", "inputs", "build", "command"}
BUILD_BOUND = 600.0  # seconds a build command may take (a first `npm ci` or `go build` on a busy machine)
BUILT_MARKER = ".h1conform-built"


class ManifestError(Exception):
    """A manifest that cannot be used, or a build that failed; its message is one line for the user."""


@dataclass(frozen=True)
class Manifest:
    path: Path  # the manifest file; its folder holds the inputs
    name: str
    requires: tuple[str, ...]  # programs that must be on PATH
    inputs: tuple[str, ...]  # files of the folder, relative to it
    build: tuple[tuple[str, ...], ...]  # commands run once in the build folder
    command: tuple[str, ...]  # starts the driver, in the build folder

    @property
    def folder(self) -> Path:
        return self.path.parent


def load_manifest(path: Path) -> Manifest:
    """The manifest at `path`, checked; ManifestError says what is wrong with it in one line."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ManifestError(f"{path}: not a readable JSON manifest ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: a manifest is a JSON object")
    unknown = sorted(set(data) - _KEYS)
    missing = sorted(_KEYS - set(data) - {"build", "requires"})
    if unknown or missing:
        raise ManifestError(f"{path}: " + "; ".join(
            ([f"unknown keys {unknown}"] if unknown else []) + ([f"missing keys {missing}"] if missing else [])))
    if data["protocol"] != PROTOCOL:
        raise ManifestError(f"{path}: protocol {data['protocol']!r}, this suite speaks protocol {PROTOCOL}")
    name = data["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise ManifestError(f"{path}: name {name!r} must be letters, digits, '.', '_' or '-'")
    inputs = _strings(path, "inputs", data["inputs"])
    for item in inputs:
        if Path(item).is_absolute() or ".." in Path(item).parts or not (path.parent / item).is_file():
            raise ManifestError(f"{path}: input {item!r} is not a file inside the manifest's folder")
    build = data.get("build", [])
    if not isinstance(build, list):
        raise ManifestError(f"{path}: build must be a list of commands")
    command = _strings(path, "command", data["command"])
    if not command:
        raise ManifestError(f"{path}: command is empty")
    return Manifest(path.resolve(), name, _strings(path, "requires", data.get("requires", [])), inputs,
                    tuple(_strings(path, "build", step) for step in build), command)


def _strings(path: Path, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ManifestError(f"{path}: {key} must be a list of strings")
    return tuple(value)


def missing_programs(manifest: Manifest) -> list[str]:
    """The required programs that are not on PATH."""
    return [program for program in manifest.requires if shutil.which(program) is None]


def expand(argument: str) -> str:
    """An argument of a build or start command, with `{python}` standing for this interpreter."""
    return argument.replace("{python}", sys.executable)


def build_folder(manifest: Manifest) -> Path:
    """The folder the driver is built in and started from: built now if it is not yet.

    ManifestError, naming the command and the log holding its output, if a build command fails."""
    folder = _cache_root() / f"{manifest.name}-{_fingerprint(manifest)}"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test process may be building it right now
        if not (folder / BUILT_MARKER).exists():
            _build(manifest, folder)
    return folder


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "h1conform" / "drivers"


def _fingerprint(manifest: Manifest) -> str:
    digest = hashlib.sha256(manifest.path.read_bytes())
    for item in manifest.inputs:
        digest.update(item.encode() + b"\0" + (manifest.folder / item).read_bytes() + b"\0")
    for program in manifest.requires:
        # A toolchain upgraded in place changes the build: its path and modification time say so
        # without running it (each toolchain asks for its version differently).
        found = shutil.which(program)
        stat = os.stat(found) if found else None
        digest.update(f"{program}={found}:{stat.st_mtime_ns if stat else 0}\0".encode())
    digest.update(sys.executable.encode())  # `{python}` in a command
    return digest.hexdigest()[:16]


def _build(manifest: Manifest, folder: Path) -> None:
    for item in manifest.inputs:
        target = folder / item
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(manifest.folder / item, target)
    log = folder / "build.log"
    with open(log, "wb") as output:
        for step in manifest.build:
            argv = [expand(argument) for argument in step]
            output.write(f"$ {' '.join(argv)}\n".encode())
            output.flush()
            try:
                done = subprocess.run(argv, cwd=folder, stdin=subprocess.DEVNULL, stdout=output,
                                      stderr=subprocess.STDOUT, timeout=BUILD_BOUND, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise ManifestError(f"driver {manifest.name}: building it failed: {' '.join(argv)}: "
                                    f"{type(exc).__name__}: {exc} (output in {log})") from None
            if done.returncode != 0:
                raise ManifestError(f"driver {manifest.name}: building it failed: {' '.join(argv)} exited with "
                                    f"{done.returncode} (output in {log})")
    (folder / BUILT_MARKER).write_text("built\n")
