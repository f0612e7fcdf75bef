"""What a fresh install gets: the runtime dependencies are complete, the locks agree with pyproject.toml.

A package imported by the server but installed only by the dev extras made `make run` fail on a fresh machine
while the suite stayed green (sqlalchemy's asyncio needs greenlet, which only a dev package pulled in). These
checks keep that from coming back; ``make smoke`` proves the same on a real fresh virtualenv.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from typer.testing import CliRunner

import b24vote
from b24vote.cli import app as cli
from tests.helpers.source import runtime_imports

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "b24vote"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
# The one module allowed a dev-only import: the testing kit's pytest plugin may import pytest.
PYTEST_PLUGIN = ("src/b24vote/testing/plugin.py", "pytest")
# The testing kit may also import what its extra installs (`pip install 'b24vote[testing]'`), and nothing else may.
KIT = "src/b24vote/testing/"
TESTING_EXTRA = {
    canonicalize_name(Requirement(line).name) for line in PYPROJECT["project"]["optional-dependencies"]["testing"]
}


def runtime_closure() -> set[str]:
    """Every distribution the runtime dependencies install here, extras and markers applied."""
    found: set[str] = set()
    todo = [Requirement(line) for line in PYPROJECT["project"]["dependencies"]]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        extras = frozenset(requirement.extras)
        key = name + "[" + ",".join(sorted(extras)) + "]"
        if key in found:
            continue
        found.add(key)
        found.add(name)
        for raw in distribution(name).requires or []:
            child = Requirement(raw)
            if child.marker is None or any(_applies(child.marker, extra) for extra in ("", *extras)):
                todo.append(child)
    return {name for name in found if "[" not in name}


def _applies(marker: Marker, extra: str) -> bool:
    return marker.evaluate({"extra": extra})


def third_party_imports() -> Iterator[tuple[str, int, str]]:
    """(file, line, top-level module) of every import in the package that runs when its code does.

    Imports under ``if TYPE_CHECKING:`` are left out: they never run.
    """
    for path in sorted(SOURCE.rglob("*.py")):
        for found in runtime_imports(path):
            top = found.name.split(".")[0]
            if top != "b24vote" and top not in sys.stdlib_module_names:
                yield str(path.relative_to(ROOT)), found.line, top


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """name → (version, number of hashes) of a hash-pinned lock file."""
    pins: dict[str, tuple[str, int]] = {}
    for entry in re.split(r"\n(?=[a-z0-9])", path.read_text(), flags=re.IGNORECASE):
        match = re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", entry)
        if match:
            pins[canonicalize_name(match.group(1))] = (match.group(2), entry.count("--hash=sha256:"))
    return pins


def test_every_runtime_import_is_installed_by_the_runtime_dependencies() -> None:
    closure = runtime_closure()
    owners = packages_distributions()
    strays = []
    for where, line, module in third_party_imports():
        if (where, module) == PYTEST_PLUGIN:
            continue  # runs only inside pytest, which loads it through the pytest11 entry point
        dists = {canonicalize_name(d) for d in owners.get(module, [])}
        if where.startswith(KIT) and dists & TESTING_EXTRA:
            continue  # imported only when a test asks for it (Portal(tls=True)), with a clear error without it
        if not dists & closure:
            strays.append(f"{where}:{line} imports {module} ({', '.join(sorted(dists)) or 'not installed'})")
    assert not strays, "imports that only the dev extras (or nothing) install:\n" + "\n".join(strays)


def test_the_checker_sees_an_import_only_dev_installs() -> None:
    # The check above must be able to fail: pytest is installed here, but only by the dev extras.
    owners = packages_distributions()
    assert "pytest" in {canonicalize_name(d) for d in owners["_pytest"]}
    assert "pytest" not in runtime_closure()
    assert "greenlet" in runtime_closure(), "sqlalchemy[asyncio] must bring greenlet"


def test_runtime_lock_pins_exactly_the_runtime_closure_with_hashes() -> None:
    pins = locked(RUNTIME_LOCK)
    closure = runtime_closure()
    assert closure <= set(pins), f"not in {RUNTIME_LOCK.name}: {sorted(closure - set(pins))} (run `make lock`)"
    for name in closure:
        version, hashes = pins[name]
        assert hashes >= 1, f"{name} has no hash in {RUNTIME_LOCK.name}"
        # The dev virtualenv was installed from the locks: what runs here is what the lock says.
        installed = distribution(name).version
        assert installed == version, f"{name}: installed {installed}, locked {version}"


def test_locks_satisfy_pyproject_and_agree_with_each_other() -> None:
    runtime, dev = locked(RUNTIME_LOCK), locked(DEV_LOCK)
    for name, (version, _) in runtime.items():
        assert dev.get(name, (None,))[0] == version, f"{name}: runtime lock {version}, dev lock {dev.get(name)}"
    extras = PYPROJECT["project"]["optional-dependencies"]
    wanted = [*PYPROJECT["project"]["dependencies"], *extras["dev"], *extras["testing"]]
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in dev, f"{name} is in pyproject.toml but not in {DEV_LOCK.name} (run `make lock`)"
        assert Version(dev[name][0]) in requirement.specifier, f"{name} {dev[name][0]} breaks {line!r}"


def test_version_is_one_value_everywhere() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"b24vote {b24vote.__version__}\n"
    assert distribution("b24vote").version == b24vote.__version__


@pytest.mark.parametrize("name", ["create_app", "Settings"])
def test_the_package_face_hands_names_on_when_asked(name: str) -> None:
    assert callable(getattr(b24vote, name))
    with pytest.raises(AttributeError):
        b24vote.no_such_name  # noqa: B018
