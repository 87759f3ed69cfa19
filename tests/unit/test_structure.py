"""The shape the code keeps (issue #15, STYLE.md): small modules, one owner each."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400  # lines: past this a module has become a grab-bag; split it by what it owns


@pytest.mark.parametrize("package", ["youcard", "issuer", "redeemer"])
def test_no_module_is_longer_than_400_lines(package):
    """Counted as ruff formats them (#28.5): no module keeps lines together with
    `# fmt: skip` or `# fmt: off` (bin/test checks that every file is formatted)."""
    long = {
        str(path.relative_to(ROOT)): count
        for path in sorted((ROOT / package).rglob("*.py"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert long == {}
    unformatted = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "# fmt: skip" in line or "# fmt: off" in line
    ]
    assert unformatted == []


# The owners of a unit of work (#28.3): the request (youcard.web: its end, its error answers,
# its one retry after a deadlock, the hot path's kept connection), a job, a CLI command.
# Views and operations never commit or roll back: a refusal is undone by the owner
# (`undo_writes`, or an error status), a failed sign-in kept by it (`keep_writes`).
UOW_OWNERS = {
    "youcard/web/__init__.py",
    "youcard/web/problems.py",
    "youcard/web/retry.py",
    "youcard/web/hotpath.py",
    "youcard/jobs/imports.py",
    "youcard/cli/imports.py",
}


def test_only_the_owners_of_a_unit_of_work_commit_or_roll_back():
    import re

    call = re.compile(r"\.(commit|rollback)\(\)")
    found = {
        str(path.relative_to(ROOT))
        for package in ("youcard", "issuer", "redeemer")
        for path in sorted((ROOT / package).rglob("*.py"))
        if call.search(path.read_text(encoding="utf-8"))
    }
    assert found - UOW_OWNERS == set()


def test_every_operation_is_told_who_acts_by_a_principal():
    """#28.4: an operation learns who acts from `by` (youcard.policy: Staff, System, Counter,
    Family), never from an actor string, a partner id beside a device id, or an ORM row."""
    import ast

    principals = {"Staff", "Counter", "Family", "Principal"}
    wrong = []
    for path in sorted((ROOT / "youcard" / "operations").rglob("*.py")):
        if path.parent.name == "booking" and path.name != "__init__.py":
            continue  # the booking's inner steps carry the request it was asked
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            for arg in node.args.args + node.args.kwonlyargs:
                annotation = ast.unparse(arg.annotation) if arg.annotation else ""
                if (
                    arg.arg in {"actor", "device_token_id", "partner_user_id"}
                    or arg.arg.endswith("_by")
                    or (arg.arg == "by" and not set(annotation.split(" | ")) <= principals)
                ):
                    wrong.append(f"{path.name}:{node.lineno} {node.name}({arg.arg})")
    assert wrong == []


def test_the_booking_is_reached_through_its_one_public_entry():
    """#28.5: outside youcard.operations.booking, code imports the package (its __init__
    names what others may use), never one of its steps."""
    import ast

    reaching = []
    for package in ("youcard", "issuer", "redeemer"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "operations/booking" in str(path.relative_to(ROOT)):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                reaching += [
                    f"{path.relative_to(ROOT)}: {name}"
                    for name in names
                    if name.startswith("youcard.operations.booking.")
                ]
    assert reaching == []


@pytest.mark.parametrize("package", ["youcard", "issuer", "redeemer"])
def test_every_package_says_what_lives_there(package):
    """#28.5: each package opens with a docstring that says what it holds."""
    import ast

    silent = [
        str(init.relative_to(ROOT))
        for init in sorted((ROOT / package).rglob("__init__.py"))
        if not ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    ]
    assert silent == []
