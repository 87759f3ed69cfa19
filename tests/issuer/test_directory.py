"""#30: the public directory: the city's active partners that agreed to be listed, by
category and district, found by name and place as people type them, in the family area's
languages; the contact only where published, never the IBAN; a link to OpenStreetMap's
search, no map loaded."""

from __future__ import annotations

from tests.factories import Factory
from tests.issuer.test_staff_login import HTTPS
from youcard.domain.enums import Category, PartnerStatus
from youcard.domain.models import PartnerOffer


def _partner(make, issuer, name, category, *, district, listed=True, public=False, **profile):
    partner = make.partner(issuer, {category})
    partner.name, partner.listed, partner.contact_public = name, listed, public
    partner.street, partner.postal_code, partner.city = "Ostring 5", "59065", "Hamm"
    partner.district, partner.contact_person = district, "Ayşe Yılmaz"
    partner.contact_email, partner.phone = "kasse@partner.example", "02381 4711"
    partner.opening_hours = "Mo–Fr 15–18 Uhr"
    for key, value in profile.items():
        setattr(partner, key, value)
    make.session.flush()
    make.session.add(
        PartnerOffer(
            partner_id=partner.id, category=category, description=f"Angebot von {name}",
            price="15 € im Monat",
        )
    )  # fmt: skip
    return partner


def _city(committed):
    with committed.begin() as session:
        make = Factory(session)
        issuer = make.issuer()
        _partner(make, issuer, "Turnverein Müller-Heessen", Category.PARTICIPATION,
                 district="Heessen")  # fmt: skip
        _partner(make, issuer, "مطبخ الحي للغداء المدرسي", Category.LUNCH, district="Mitte",
                 public=True)  # fmt: skip
        _partner(make, issuer, "Nicht gelistet e. V.", Category.PARTICIPATION,
                 district="Mitte", listed=False)  # fmt: skip
        _partner(make, issuer, "Gesperrter Verein", Category.PARTICIPATION, district="Mitte",
                 status=PartnerStatus.SUSPENDED)  # fmt: skip
        return issuer.id


def _page(client, issuer_id, query=""):
    answer = client.get(f"/directory?city={issuer_id}{query}", base_url=HTTPS)
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_the_directory_lists_whom_families_may_find(client, committed):
    issuer_id = _city(committed)
    page = _page(client, issuer_id)
    assert "Turnverein Müller-Heessen" in page and "مطبخ الحي للغداء المدرسي" in page
    assert "Nicht gelistet" not in page and "Gesperrter Verein" not in page
    assert "Gefundene Partner: 2" in page
    assert "DE89370400440532013000" not in page and "DE89" not in page  # never the IBAN
    assert page.count("Ayşe Yılmaz") == 1  # only the partner that published its contact
    assert page.count("kasse@partner.example") == 2  # as text and in its mailto: link
    assert "https://www.openstreetmap.org/search?query=Ostring+5%2C+59065+Hamm" in page
    assert "<iframe" not in page and "tile" not in page  # a link, no map loaded


def test_by_category_district_and_a_search_as_people_type_it(client, committed):
    issuer_id = _city(committed)
    lunch = _page(client, issuer_id, "&category=lunch")
    assert "مطبخ الحي" in lunch and "Turnverein" not in lunch
    heessen = _page(client, issuer_id, "&district=Heessen")
    assert "Turnverein" in heessen and "مطبخ الحي" not in heessen
    typed = _page(client, issuer_id, "&q=mueller")
    assert "Turnverein Müller-Heessen" in typed and "Gefundene Partner: 1" in typed
    nothing = _page(client, issuer_id, "&q=zzz&category=trips&district=Nowhere")
    assert "Gefundene Partner: 0" in nothing
    odd = _page(client, issuer_id, "&category=%3Cscript%3E&q=" + "x" * 5000)
    assert "<script>" not in odd and "Gefundene Partner: 0" in odd


def test_the_directory_speaks_the_family_areas_languages(client, committed):
    issuer_id = _city(committed)
    arabic = _page(client, issuer_id, "&lang=ar")
    assert '<html lang="ar" dir="rtl">' in arabic and "أين تُقبل البطاقة" in arabic
    assert "Angebot von Turnverein" in arabic  # the offer as the partner wrote it
    ukrainian = _page(client, issuer_id, "&lang=uk")
    assert "Де приймають картку" in ukrainian and "Знайдено партнерів: 2" in ukrainian
