"""The same-run baseline for bench/redeem.py: a bare Flask + psycopg endpoint.

docs/targets.md's reference point ("a bare Flask + gunicorn + psycopg endpoint doing only
that transaction"): POST /api/v1/bookings parses the JSON body and runs the pgbench
booking transaction of bench/redeem.py on one psycopg connection per worker, with no
credential check, no auth, no rate limit, no schema and no ORM. Served by gunicorn
exactly like the redeemer, it is the ceiling of the Python request path on this
machine. Not a product: it books without any of the rules.
"""

from __future__ import annotations

import os
import uuid

import psycopg
from flask import Flask, jsonify, request

BOOK = (
    (
        "SELECT c.id, c.issuer_id, e.id FROM cards c"
        " JOIN children ch ON ch.id = c.child_id"
        " LEFT JOIN partners p ON p.id = %(partner)s"
        " LEFT JOIN bookings b ON b.partner_id = %(partner)s AND b.idempotency_key = %(key)s"
        " LEFT JOIN entitlements e ON e.child_id = c.child_id AND e.category = 'trips'"
        " WHERE c.id = %(card)s"
    ),
    (
        "INSERT INTO bookings (issuer_id, partner_id, entitlement_id, card_id, kind, category,"
        " amount_cents, units, service_date, idempotency_key, request_hash, created_at)"
        " VALUES (%(issuer)s, %(partner)s, %(eid)s, %(card)s, 'booking', 'trips', %(amount)s, 0,"
        " current_date, %(key)s, '\\x00', now())"
        " ON CONFLICT (partner_id, idempotency_key) DO NOTHING RETURNING id"
    ),
    (
        "UPDATE entitlements SET spent_cents = spent_cents + %(amount)s"
        " WHERE id = %(eid)s AND status = 'approved' AND spent_cents + %(amount)s <= cap_cents"
    ),
    (
        "INSERT INTO audit_events (issuer_id, occurred_at, actor, action, object_type,"
        " object_id, data) VALUES (%(issuer)s, now(), 'bench', 'booking.create', 'booking',"
        " %(id)s, '{}')"
    ),
)


def create_app() -> Flask:
    app = Flask(__name__)
    url = os.environ["YOUCARD_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    partner = int(os.environ["BARE_PARTNER_ID"])
    connection: list[psycopg.Connection] = []
    card_ids: dict[str, int] = {}  # credential -> card id, read once: no credential check here

    @app.post("/api/v1/bookings")
    def bookings():  # type: ignore[no-untyped-def]
        if not connection:
            connection.append(psycopg.connect(url))
            card_ids.update(connection[0].execute("SELECT credential, id FROM cards").fetchall())
            connection[0].commit()
        body = request.get_json()
        params = {
            "partner": partner,
            "key": request.headers.get("Idempotency-Key") or uuid.uuid4().hex,
            "card": card_ids[body["credential"]],
            "amount": body["amount_cents"],
        }
        conn = connection[0]
        with conn.transaction():
            card, issuer, eid = conn.execute(BOOK[0], params).fetchone()
            params.update(card=card, issuer=issuer, eid=eid)
            booking = conn.execute(BOOK[1], params).fetchone()
            params["id"] = str(booking[0])
            if conn.execute(BOOK[2], params).rowcount != 1:
                raise RuntimeError("over budget")
            conn.execute(BOOK[3], params)
        return jsonify(id=booking[0], amount_cents=params["amount"]), 201

    @app.errorhandler(RuntimeError)
    def refused(_error):  # type: ignore[no-untyped-def]
        return jsonify(type="insufficient_budget"), 409

    return app
