"""The OpenAPI document: valid, complete, and honoured by the API (schemathesis, authenticated)."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from backend.extensions import db
from backend.models import User as UserRow
from backend.services.auth import issue_tokens
from tests.backend.conftest import AppFactory, register

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def test_openapi_document_is_valid(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/openapi.json")
    assert response.status_code == 200
    validate(response.get_json())
    served = response.get_json()["info"]["version"]
    assert served == client.get("/health").get_json()["version"] == version("drumsampler")


def test_every_route_is_documented_and_every_documented_route_exists(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").get_json()
    documented = {
        (path, method.upper()) for path, item in spec["paths"].items() for method in item if method.upper() in METHODS
    }
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method in METHODS
    }
    assert served == documented


@pytest.fixture
def api_app(make_app: AppFactory, sounds: list[Path], tmp_path: Path) -> Flask:
    """An app with one user owning the library "Drums" (the spec's example) holding "kick.wav", serving a built web
    app (without one, its pages answer 503 by design)."""
    web_app = tmp_path / "browser"
    web_app.mkdir()
    (web_app / "index.html").write_text("<!doctype html><title>DrumSampler</title>")
    app = make_app(FRONTEND_DIR=str(web_app))
    user = register(app.test_client(), "schemathesis@example.org")
    assert user.upload("Drums", sounds[0], "kick.wav").status_code == 200
    assert user.upload("Drums", sounds[1], "snare.wav").status_code == 200
    return app


def _operations(app: Flask) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(api_app: Flask, mode: GenerationMode) -> None:
    """Schemathesis over every operation: no 5xx, and every status, content type and body as documented.

    Each case runs with a fresh session of the test user, so that /logout can be fuzzed too. In negative
    mode an operation without inputs that could be invalid (e.g. ``GET /health``) has nothing to generate.
    """
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    failures: list[str] = []
    operations = _operations(api_app)
    assert len(operations) >= 25

    def token() -> str:
        with api_app.app_context():
            user = db.session.scalar(select(UserRow).where(UserRow.mail == "schemathesis@example.org"))
            return issue_tokens(user).access

    for operation in operations:

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token()}"}, checks=checks)

        try:
            run()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE, f"{operation.label}: no valid request could be generated"
        except (Exception, FailureGroup) as exc:  # collect every failing operation, then fail once
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
