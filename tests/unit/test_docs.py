"""The repository explains itself (#28.6): the README and docs/ link only inside the
repository and every link resolves; the partner API's page names every route the
redeemer serves; no module points its reader to a design file outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)]+)\)")


def test_every_link_stays_in_the_repository_and_resolves():
    for page in PAGES:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "#", "mailto:")):
                assert "github.com" not in target, (page.name, target)
                continue
            resolved = (page.parent / target.split("#")[0]).resolve()
            assert resolved.is_relative_to(ROOT), (page.name, target)
            assert resolved.exists(), (page.name, target)


def test_every_docs_page_is_linked_from_the_index():
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    for page in PAGES[1:]:
        if page.name != "README.md":
            assert f"]({page.name})" in index, page.name


def test_the_partner_api_page_names_every_route():
    page = (ROOT / "docs" / "partner-api.md").read_text(encoding="utf-8")
    routes = set()
    for module in sorted((ROOT / "redeemer").glob("api*.py")):
        routes |= set(re.findall(r'@blp\.route\("([^"]+)"\)', module.read_text()))
    assert len(routes) >= 12
    for route in routes:
        written = "/api/v1" + re.sub(r"<(?:int:)?(\w+)>", "{id}", route)  # as the page writes it
        assert written.replace("{id}", "") in page.replace("{id}", "").replace("YYYY-MM", ""), route


def test_no_file_sends_its_reader_outside_the_repository():
    for package in ("youcard", "issuer", "redeemer", "tests", "bench", "bin", "deploy"):
        for path in (ROOT / package).rglob("*"):
            if (
                path.is_file()
                and path.suffix in (".py", ".md", ".html", ".sh", "")
                and ("vendor" not in path.parts)
            ):
                text = path.read_text(encoding="utf-8", errors="replace")
                assert "DESIGN" + ".md" not in text, path
