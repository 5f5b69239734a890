"""The application as a whole: offline docs, and an OpenAPI document that tells the truth."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from doorstep.api.app import create_app
from doorstep.api.problems import MEDIA_TYPE
from doorstep.settings import Settings

from .conftest import Service

METHODS = ("get", "post", "put", "patch", "delete")


def _assets(client: TestClient, page: str) -> list[str]:
    html = client.get(page).text
    return re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html)


def test_docs_pages_load_every_asset_from_the_service(service: Service) -> None:
    """/docs and /redoc reference no other host, and every file they name is served."""
    c = service.client
    for page in ("/docs", "/redoc"):
        assert c.get(page).status_code == 200
        assets = _assets(c, page)
        assert assets, page
        for url in assets:
            assert url.startswith("/"), f"{page} loads {url} from elsewhere"
            r = c.get(url)
            assert r.status_code == 200 and r.content, url


def test_openapi_declares_the_key_as_a_security_scheme(service: Service) -> None:
    """Bearer and X-API-Key are security schemes, required everywhere but tracking."""
    doc = service.client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    assert schemes["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The same API key in its own header: `X-API-Key: <key>`.",
    }
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            names = {p["name"].lower() for p in operation.get("parameters", [])}
            assert not names & {"authorization", "x-api-key"}, (method, path)
            assert bool(operation.get("security")) == (not path.startswith("/v1/track/"))


def test_openapi_documents_every_error_as_problem_json(service: Service) -> None:
    """Each operation lists its 4xx/5xx answers, all application/problem+json with Problem."""
    doc = service.client.get("/openapi.json").json()
    assert set(doc["components"]["schemas"]["Problem"]["required"]) == {
        "type",
        "title",
        "status",
        "code",
        "detail",
    }
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            responses = item[method]["responses"]
            assert {"422", "500", "503"} <= set(responses), (method, path)
            if not path.startswith("/v1/track/"):
                assert {"401", "403"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    assert list(response["content"]) == [MEDIA_TYPE], (method, path, status)
    upload = doc["paths"]["/v1/orders/upload"]["post"]["responses"]
    assert {"413", "415"} <= set(upload)


def test_a_method_not_allowed_says_which_are(service: Service, admin: dict[str, str]) -> None:
    """TRACE (or any unsupported method) is a 405 problem with an Allow header."""
    r = service.client.request("TRACE", "/v1/orders", headers=admin)
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_the_service_loads_the_risk_model_its_settings_name(tmp_path: Path) -> None:
    """risk_model names a trained model: it is the app's risk; a missing file is refused."""
    from datetime import datetime

    from tests.learn.synthetic import population

    from doorstep.errors import InputError
    from doorstep.learn.history import read_history
    from doorstep.learn.model import TrainedRisk, save, train

    history = tmp_path / "h.csv"
    population(customers=60, days=30).to_csv(history, index=False)
    model = tmp_path / "risk.model"
    save(train(read_history(history)), model)
    url = f"sqlite:///{tmp_path / 'd.db'}"
    app = create_app(Settings(database_url=url, risk_model=str(model), dispatch_webhooks=False))
    assert isinstance(app.state.risk, TrainedRisk)
    assert 0 < app.state.risk.p_fail(None, None, datetime(2024, 3, 1, 9)) < 1
    assert create_app(Settings(database_url=url)).state.risk is None
    with pytest.raises(InputError, match="does not exist"):
        create_app(Settings(database_url=url, risk_model=str(tmp_path / "none.model")))
