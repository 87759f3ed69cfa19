"""flask-smorest with our problem+json errors (and their documentation) instead of its own."""

from __future__ import annotations

import http
from typing import Any

from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.utils import prepare_response
from marshmallow import missing
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.exceptions import HTTPException

from youcard.schemas.partner_api import ProblemSchema
from youcard.web.inputs import UnsafeInput, load_json
from youcard.web.problems import MEDIA_TYPE, http_problem


class ProblemApi(Api):  # type: ignore[misc]
    """An Api whose errors are problem+json, documented as such."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException) -> Any:
        """Answer validation and HTTP errors with problem+json."""
        return http_problem(error)

    def _register_responses(self) -> None:
        """The shared error responses of the spec, as application/problem+json."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                content_type = MEDIA_TYPE
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        default: dict[str, Any] = {"description": "Error", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)


class SafeJsonParser(FlaskParser):
    """webargs' parser, with our one JSON loader (`youcard.web.inputs.load_json`): a body
    nested a thousand deep, holding control characters or a key twice is a 400 that says
    what is wrong, never a 500 and never "last one wins"."""

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            return missing
        try:
            return load_json(req.get_data(cache=True))
        except UnsafeInput as error:
            abort(400, messages={"json": [str(error)]})


class Blueprint(SmorestBlueprint):  # type: ignore[misc]
    """flask-smorest's Blueprint with the safe JSON parser."""

    ARGUMENTS_PARSER = SafeJsonParser()
