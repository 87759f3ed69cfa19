"""`/directory`: where families can use the card. The partners of the city that agreed to
be listed, by category and district, searched by name and place, in the family area's six
languages (each partner's offer as it wrote it). An address links OpenStreetMap's search;
no map tiles are loaded (nothing of the family's visit goes to another site until it
follows the link)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from youcard.domain.enums import Category
from youcard.reads.directory import directory as listed
from youcard.web import db_session
from youcard.web.names import CATEGORY_NAMES

bp = Blueprint("directory", __name__)
MAX_QUERY = 100


def map_link(address: str) -> str:
    """OpenStreetMap's search for `address` (a link; the page loads nothing from there)."""
    return "https://www.openstreetmap.org/search?" + urlencode({"query": address})


@bp.get("/directory")
def index() -> ResponseReturnValue:
    """The listed partners, filtered by category, district and a search."""
    category = request.args.get("category") or None
    if category not in {c.value for c in Category}:
        category = None
    city = (request.args.get("city") or "")[:40] or None
    district = (request.args.get("district") or "")[:MAX_QUERY] or None
    query = (request.args.get("q") or "").strip()[:MAX_QUERY] or None
    found = listed(db_session(), issuer_id=city, category=category, district=district, query=query)
    return render_template(
        "directory.html",
        found=found,
        category=category,
        city=city,
        district=district,
        query=query or "",
        categories=list(Category),
        category_names=CATEGORY_NAMES,
        map_link=map_link,
    )
