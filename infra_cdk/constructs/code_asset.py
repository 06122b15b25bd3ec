"""The Lambda code asset: exactly the modules the handlers import, nothing else.

Every function's handler module is the root; the closure follows every `import` statement (also the
ones inside functions, which run later on Lambda) into the repository's own packages. Anything the
handlers reach outside `lambdas` and `barometer` is a packaging error (the local runtime, SQL over the
lake or Dagster would be missing on Lambda), so it fails synthesis instead of a first invocation.
Third-party imports are left to the runtime and the Powertools layer, except the distributions in
SHIPPED_DISTRIBUTIONS, which neither provides: they are copied from the build environment at the version
uv.lock pins (another version fails the synthesis).
"""
from __future__ import annotations

import ast
import atexit
import importlib.metadata
import shutil
import tempfile
import tomllib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_PACKAGES = ("lambdas", "barometer")
# The repository's other packages: importing one of them from a handler would break on Lambda.
REPOSITORY_PACKAGES = SHIPPED_PACKAGES + ("barometer_local", "barometer_sql", "platform_assets", "infra_cdk",
                                          "bench", "tests")


# The Lambda runtime has no zoneinfo database: without tzdata every ZoneInfo("America/New_York") fails,
# and with it configuration parsing, local days and market hours.
SHIPPED_DISTRIBUTIONS = ("tzdata",)
LOCK_FILE = REPO_ROOT / "uv.lock"


class PackagingError(RuntimeError):
    """A handler imports something the Lambda asset cannot ship."""


def _module_file(module: str, root: Path) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str) -> Iterable[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            yield base
            for alias in node.names:  # `from pkg import module` imports a module, not a name
                yield f"{base}.{alias.name}"


def import_closure(handler_modules: Iterable[str], root: Path = REPO_ROOT) -> set[Path]:
    """Files of the repository's own modules reachable from the handler modules (package __init__s included)."""
    files: set[Path] = set()
    pending = list(handler_modules)
    missing = [m for m in pending if _module_file(m, root) is None]
    if missing:  # else the asset would ship without them and every invocation fail with ImportModuleError
        raise PackagingError(f"handler module(s) {', '.join(missing)} not found in the repository")
    seen: set[str] = set()
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        top = module.split(".")[0]
        if top not in REPOSITORY_PACKAGES:
            continue  # the standard library, boto3, Powertools, ...
        path = _module_file(module, root)
        if path is None:
            continue  # `from pkg import name` where name is not a module
        if top not in SHIPPED_PACKAGES:
            raise PackagingError(f"{module} is imported by a handler but is not shipped to Lambda "
                                 f"(only {', '.join(SHIPPED_PACKAGES)} are)")
        files.add(path)
        parts = module.split(".")
        for i in range(1, len(parts)):
            pending.append(".".join(parts[:i]))
        pending.extend(_imports(path, module))
    return files


def locked_version(distribution: str, lock_file: Path = LOCK_FILE) -> str:
    lock = tomllib.loads(lock_file.read_text(encoding="utf-8"))
    versions = {p["version"] for p in lock.get("package", []) if p["name"] == distribution and "version" in p}
    if len(versions) != 1:
        raise PackagingError(f"{distribution} is not pinned once in {lock_file.name} (found {sorted(versions)})")
    return versions.pop()


def distribution_files(distribution: str) -> list[tuple[Path, Path]]:
    """(installed file, path inside the asset) of an installed distribution's modules and data, at the
    version uv.lock pins; its metadata and compiled caches are left out."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise PackagingError(f"{distribution} is not installed in the build environment (make setup)") from None
    if dist.version != locked_version(distribution):
        raise PackagingError(f"{distribution} {dist.version} is installed but uv.lock pins "
                             f"{locked_version(distribution)} (make setup)")
    files = []
    for entry in dist.files or ():
        parts = entry.parts
        if parts[0].endswith((".dist-info", ".egg-info")) or "__pycache__" in parts or entry.suffix == ".pyc":
            continue
        if parts[0] == ".." or entry.is_absolute():  # scripts installed outside site-packages
            continue
        files.append((Path(dist.locate_file(entry)), Path(*parts)))
    if not files:
        raise PackagingError(f"{distribution} is installed without files to ship")
    return files


@lru_cache(maxsize=1)
def lambda_source_dir(handlers: tuple[str, ...]) -> str:
    """A staging folder holding the import closure of `handlers` (dotted `module.function` paths).

    Copied (not excluded in place) so that asset fingerprinting never walks the repository's virtualenvs;
    the asset hash depends on the content only, so the temporary location does not change it.
    """
    files = import_closure(h.rpartition(".")[0] for h in handlers)
    target = Path(tempfile.mkdtemp(prefix="barometer-lambda-src-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)  # the asset is staged into cdk.out by then
    for path in sorted(files):
        destination = target / path.relative_to(REPO_ROOT)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
    for distribution in SHIPPED_DISTRIBUTIONS:
        for source, relative in distribution_files(distribution):
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
    return str(target)
