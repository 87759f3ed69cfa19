"""The shape the code keeps (issue #15, STYLE.md): small modules, one owner each."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400  # lines: past this a module has become a grab-bag; split it by what it owns


@pytest.mark.parametrize("package", ["youcard", "issuer", "redeemer"])
def test_no_module_is_longer_than_400_lines(package):
    long = {
        str(path.relative_to(ROOT)): count
        for path in sorted((ROOT / package).rglob("*.py"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert long == {}
