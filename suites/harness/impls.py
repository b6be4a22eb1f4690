"""Resolving `--impl` values to implementations under test.

An `--impl` value is, tried in this order:
1. a built-in name: `reference`, `stdlib`, or one of the client adapters of `suites.adapters`
   (`urllib3`, `requests`, `httpx`, `aiohttp`, `pycurl`, `urllib`); only the exact name is
   built in, so `--impl=urllib3.connection` is still urllib3's own module;
2. a name registered by a third party in the entry point group `h1conform.implementations`;
3. a path to a `.py` file;
4. a dotted module path.

What it names is either a module with the http.client API (it has `HTTPConnection`), which runs
api scenarios and gets a wire adapter for free, or a `WireAdapter` (an instance, a class, or a
module exposing one as `WIRE_ADAPTER`), which runs wire scenarios only.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import importlib.util
import os
import platform
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from packaging.version import InvalidVersion, Version

from h1conform.suites.harness.api_adapter import HTTPClientAPIAdapter
from h1conform.suites.harness.driver_build import ManifestError, load_manifest
from h1conform.suites.harness.driver_process import DriverBroken
from h1conform.suites.harness.drivers import DriverAdapter
from h1conform.suites.harness.wire import WireAdapter

ENTRY_POINT_GROUP = "h1conform.implementations"
BUILTINS = {"stdlib": "http.client", "reference": "h1conform.reference"}


@dataclass(frozen=True)
class BuiltinAdapter:
    module: str  # the adapter module (it exposes WIRE_ADAPTER)
    client: str  # the client's top-level module, which must be importable
    distribution: str  # the client's distribution, whose version the reports show
    oldest: str  # the oldest release of it the adapter supports (checked: tox -e adapters-oldest)

    @property
    def requirement(self) -> str:
        """What to pip install when the client is missing or too old."""
        return f"{self.distribution}>={self.oldest}"


# The client adapters shipped with the suite (the `clients` extra installs every client). The
# oldest releases are those that install beside h1conform's own dependencies (h11>=0.16 rules out
# httpx before 0.25.1) on the supported Pythons; pyproject.toml's clients extra has the same bounds.
ADAPTERS = {
    "urllib3": BuiltinAdapter("h1conform.suites.adapters.urllib3_adapter", "urllib3", "urllib3", "1.26"),
    "requests": BuiltinAdapter("h1conform.suites.adapters.requests_adapter", "requests", "requests", "2.28"),
    "httpx": BuiltinAdapter("h1conform.suites.adapters.httpx_adapter", "httpx", "httpx", "0.25.1"),
    "aiohttp": BuiltinAdapter("h1conform.suites.adapters.aiohttp_adapter", "aiohttp", "aiohttp", "3.8"),
    "pycurl": BuiltinAdapter("h1conform.suites.adapters.pycurl_adapter", "pycurl", "pycurl", "7.49"),
    "urllib": BuiltinAdapter("h1conform.suites.adapters.urllib_adapter", "urllib.request", "", ""),
}

# The drivers shipped with the suite (docs/driver-protocol.md): clients of other languages, each
# behind a process of its own; the manifests are relative to suites/drivers.
DRIVERS_FOLDER = Path(__file__).resolve().parents[1] / "drivers"
DRIVERS = {
    "node-http": "node/node-http.json",
    "node-fetch": "node/node-fetch.json",
    "go-net-http": "go/go-net-http.json",
    "java-httpclient": "java/java-httpclient.json",
    "curl-cli": "curl/curl-cli.json",
}


# h1conform is on no package index: its extra installs from a checkout or a git URL.
CLIENTS_EXTRA_HINT = ("pip install -e '.[clients]' in a checkout of h1conform, or "
                      "pip install 'h1conform[clients] @ git+https://<git-host>/<owner>/h1conform.git'")


class ImplError(Exception):
    """An --impl value that cannot be used; its message is one line for the user."""


@dataclass(frozen=True)
class Implementation:
    name: str  # shown in test ids and reports
    spec: str  # the --impl value as given
    module: ModuleType | None  # the http.client-API module; None for a wire-only adapter
    wire: WireAdapter
    version: str  # the implementation's version, as well as it can be told
    origin: str  # where it was loaded from
    notes: tuple[str, ...] = ()  # warnings its import raised, shown once in the run's header

    @property
    def has_api(self) -> bool:
        return self.module is not None


def resolve_all(specs: list[str]) -> list[Implementation]:
    impls = [resolve(spec) for spec in specs]
    names = [impl.name for impl in impls]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ImplError(f"--impl names {duplicates} more than once")
    return impls


def resolve(spec: str) -> Implementation:
    """The implementation `spec` names. Warnings raised while importing it (an old client importing
    `six` on a newer Python warns) become notes: under `filterwarnings = error` they would end the
    run, though they say nothing about the client's HTTP."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # each warning once, whatever the filters of the run
        impl = _resolve(spec)
    notes = tuple(dict.fromkeys(f"--impl={spec}: importing it warned: {warning.category.__name__}: "
                                f"{' '.join(str(warning.message).split())}" for warning in caught))
    return dataclasses.replace(impl, notes=notes) if notes else impl


def _resolve(spec: str) -> Implementation:
    if not spec.strip():
        raise ImplError("--impl needs a value: a built-in name (stdlib), a dotted module or a .py file")
    if spec in BUILTINS:
        module = _import(spec, BUILTINS[spec])
        return _from_object(spec, spec, module)
    if spec in ADAPTERS:
        return _builtin_adapter(spec, ADAPTERS[spec])
    if spec in DRIVERS:
        return _driver(spec, DRIVERS_FOLDER / DRIVERS[spec])
    entry_point = _entry_point(spec)
    if entry_point is not None:
        with _running(spec, f"entry point {entry_point.value!r} failed to load"):
            loaded = entry_point.load()
        return _from_object(spec, spec, loaded)
    if spec.endswith(".json"):
        if not Path(spec).is_file():
            raise ImplError(f"--impl={spec}: no such file (a driver's manifest: docs/driver-protocol.md)")
        return _driver(spec, Path(spec))
    if spec.endswith(".py") or os.sep in spec:
        path = Path(spec)
        if path.is_dir():
            raise ImplError(f"--impl={spec}: a directory; give the client module's .py file, or its dotted module "
                            "name with the directory that holds its package on PYTHONPATH")
        if not path.is_file():
            raise ImplError(f"--impl={spec}: no such file")
        return _from_object(path.stem, spec, _load_file(spec, path), adapter_names_it=True)
    return _from_object(spec, spec, _import(spec, spec), adapter_names_it=True)


@contextmanager
def _running(spec: str, failure: str) -> Iterator[None]:
    """Run an implementation's own code (its import): whatever it raises, SystemExit and
    KeyboardInterrupt included, becomes one ImplError line instead of ending pytest."""
    try:
        yield
    except ImplError:
        raise
    except BaseException as exc:
        raise ImplError(f"--impl={spec}: {failure}: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _builtin_adapter(name: str, builtin: BuiltinAdapter) -> Implementation:
    with _running(name, f"importing {builtin.client} failed"):
        try:
            importlib.import_module(builtin.client)
        except ImportError as exc:
            raise ImplError(f"--impl={name}: the {name} adapter needs {builtin.client}, which does not import "
                            f"({' '.join(str(exc).split())}): pip install '{builtin.requirement}', or every client "
                            f"with h1conform's clients extra: {CLIENTS_EXTRA_HINT}") from None
    if builtin.distribution:
        _check_release(name, builtin)
    module = _import(name, builtin.module)
    adapter = getattr(module, "WIRE_ADAPTER", None)
    if not isinstance(adapter, WireAdapter):
        raise ImplError(f"--impl={name}: {builtin.module} has no WIRE_ADAPTER")
    version = (f"{builtin.distribution} {importlib.metadata.version(builtin.distribution)}" if builtin.distribution
               else _version(sys.modules[builtin.client]))
    return Implementation(name, name, None, adapter, version, module.__file__ or builtin.module)


def _driver(spec: str, manifest_path: Path) -> Implementation:
    """A driver process's implementation: built (once) and asked its hello now, outside any scenario."""
    try:
        adapter = DriverAdapter(load_manifest(manifest_path))
    except (ManifestError, DriverBroken) as exc:
        raise ImplError(f"--impl={spec}: {' '.join(str(exc).split())}") from None
    version = "unavailable here" if adapter.unavailable else f"{adapter.client} {adapter.version}"
    return Implementation(adapter.name, spec, None, adapter, version, str(adapter.manifest.path))


def _check_release(name: str, builtin: BuiltinAdapter) -> None:
    installed = importlib.metadata.version(builtin.distribution)
    try:
        too_old = Version(installed) < Version(builtin.oldest)
    except InvalidVersion:
        too_old = False  # a version we cannot read: let the adapter try it
    if too_old:
        raise ImplError(f"--impl={name}: {builtin.distribution} {installed} is not supported: the {name} adapter "
                        f"supports {builtin.distribution} {builtin.oldest} and later (pip install '{builtin.requirement}')")


def _entry_point(name: str) -> importlib.metadata.EntryPoint | None:
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == name:
            return entry_point
    return None


def _import(spec: str, module_name: str) -> ModuleType:
    with _running(spec, "importing it failed"):
        try:
            return importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name or (exc.name and module_name.startswith(exc.name + ".")):
                raise ImplError(f"--impl={spec}: no module named {exc.name!r} (not a built-in name "
                                f"{sorted([*BUILTINS, *ADAPTERS, *DRIVERS])}, an entry point, a .py file or a driver's .json)") from None
            raise


def _load_file(spec: str, path: Path) -> ModuleType:
    module_name = f"_h1conform_impl_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImplError(f"--impl={spec}: cannot load it as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up by name
    try:
        with _running(spec, "running it failed"):
            module_spec.loader.exec_module(module)
    except ImplError:
        del sys.modules[module_name]
        raise
    return module


# What a name must look like: it ends test ids and keys --expect=IMPL=FILE (so no "=").
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _from_object(name: str, spec: str, obj: object, *, adapter_names_it: bool = False) -> Implementation:
    """The implementation `obj` is. `name` is the one it gets unless `adapter_names_it` and it is a
    wire adapter with a `name` of its own (a file or module is named by what it holds; a built-in
    or an entry point by the name it was asked for)."""
    if isinstance(obj, ModuleType) and callable(getattr(obj, "HTTPConnection", None)):
        return Implementation(name, spec, obj, HTTPClientAPIAdapter(obj, name), _version(obj),
                              getattr(obj, "__file__", None) or obj.__name__)
    adapter = getattr(obj, "WIRE_ADAPTER", obj) if isinstance(obj, ModuleType) else obj
    if isinstance(adapter, type) and issubclass(adapter, WireAdapter):
        adapter = adapter()
    if isinstance(adapter, WireAdapter):
        if adapter_names_it and adapter.name != WireAdapter.name:
            name = adapter.name
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise ImplError(f"--impl={spec}: its adapter's name {name!r} is not a name (letters, digits, "
                                "'.', '_' and '-', starting with a letter or digit)")
        return Implementation(name, spec, None, adapter, _version(obj), type(adapter).__module__)
    raise ImplError(f"--impl={spec}: {_describe(obj)} has no HTTPConnection (so no http.client API) "
                    "and is not a WireAdapter (nor a module with WIRE_ADAPTER)")


def _describe(obj: object) -> str:
    return f"module {obj.__name__!r}" if isinstance(obj, ModuleType) else f"object {obj!r}"


def _version(obj: object) -> str:
    module_name = obj.__name__ if isinstance(obj, ModuleType) else type(obj).__module__
    if module_name in ("http.client",) or module_name.split(".")[0] in sys.stdlib_module_names:
        return f"{platform.python_implementation()} {platform.python_version()}"
    version = getattr(obj, "__version__", None)
    if isinstance(version, str):
        return version
    top = module_name.split(".")[0]
    try:  # most distributions are named as their top-level package: no scan of every installed one
        return f"{top} {importlib.metadata.version(top)}"
    except importlib.metadata.PackageNotFoundError:
        pass
    for distribution in importlib.metadata.packages_distributions().get(top, []):  # a second or more per process
        return f"{distribution} {importlib.metadata.version(distribution)}"
    return "unknown"
