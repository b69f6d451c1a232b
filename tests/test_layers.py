"""The packages import one way: bookgpt <- cluster <- actors <- commands. bookgpt (the library)
never imports Ray; imports inside functions count too, so no cycle hides in one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# what each package may import of the others (and of Ray)
ALLOWED = {
    "bookgpt": set(),
    "cluster": {"bookgpt", "ray"},
    "actors": {"bookgpt", "cluster", "ray"},
    "commands": {"bookgpt", "cluster", "actors", "ray"},
}
WATCHED = {"bookgpt", "cluster", "actors", "commands", "ray"}


def imports_of(package: str) -> dict[str, set[str]]:
    """Module path -> the watched top-level packages it imports (anywhere in the module)."""
    out = {}
    for path in sorted((REPO / package).rglob("*.py")):
        found = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found |= {n.split(".")[0] for n in names} & WATCHED
        out[str(path.relative_to(REPO))] = found - {package}
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_run_one_way(package):
    wrong = {m: sorted(found - ALLOWED[package]) for m, found in imports_of(package).items()
             if found - ALLOWED[package]}
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}: {wrong}"


def test_the_checker_sees_imports_inside_functions(tmp_path, monkeypatch):
    pkg = tmp_path / "bookgpt"
    pkg.mkdir()
    (pkg / "m.py").write_text("def f():\n    from actors.plan import plan\n    import ray\n")
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    assert imports_of("bookgpt") == {"bookgpt/m.py": {"actors", "ray"}}
