"""The package's public face: the names ``b24vote`` exports, and that importing it loads nothing heavy."""

from __future__ import annotations

import subprocess
import sys

import b24vote


def test_exported_members() -> None:
    assert b24vote.__all__ == ["Settings", "__version__", "create_app"]
    for name in b24vote.__all__:
        assert getattr(b24vote, name) is not None, name
    # (pytest's assertion rewriting adds "@py_builtins"-like names to modules of a plugin's package.)
    public = {name for name in vars(b24vote) if name.isidentifier() and not name.startswith("_")}
    # Besides what __all__ names: the submodules imported so far and typing helpers of the module itself.
    assert public - set(b24vote.__all__) <= {"TYPE_CHECKING", "Any", "annotations"} | _submodules()


def _submodules() -> set[str]:
    prefix = "b24vote."
    return {name[len(prefix) :].split(".")[0] for name in sys.modules if name.startswith(prefix)}


def test_importing_the_package_or_its_cli_loads_no_server_or_database() -> None:
    script = (
        "import sys, b24vote, b24vote.cli\n"
        "heavy = [m for m in ('sqlalchemy', 'starlette', 'alembic', 'uvicorn', 'b24vote.app') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
