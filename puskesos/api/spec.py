"""flask-smorest, bound to our error handling: it documents and validates; our handlers answer errors."""

from __future__ import annotations

import http

from flask_smorest import Api
from flask_smorest.utils import prepare_response

from puskesos.api.problems import PROBLEM_TYPE
from puskesos.api.schemas import ProblemSchema


class PuskesosApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """flask-smorest would answer every HTTP error of the app in its own JSON; pages answer in HTML and
        the API in problem+json (puskesos/web/errors.py), so it registers nothing."""

    def _register_responses(self) -> None:
        """Every documented error is a problem+json document, as the handlers send it."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error, as RFC 9457 problem details", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)
