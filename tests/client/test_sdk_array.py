"""Finding out which API an array speaks: against fakes of arrays that answer only one (as real
QSAN arrays do), and against OpenSAN, which answers both."""

from __future__ import annotations

import httpx
import pytest

from opensan.client import (
    Api,
    ConnectionFailed,
    SanosClient,
    StorageArray,
    XevoClient,
    connect,
    detect_api,
)
from opensan.testing import VirtualArray

ABOUT = {"addresses": [{"address": "192.0.2.10", "online": True}], "systemName": "san01",
         "firmwareVer": "2.3.0", "modelName": "Q710", "modelType": "SAN",
         "serialNumber": "QW1", "wwn": "6001378"}
HELP = [{"method": "GET", "path": "/rest/dashboard/systeminfo", "description": "Show system."}]


def fake(routes: dict[str, httpx.Response]) -> httpx.Client:
    """An array that answers these paths and 404 (with an HTML page, as web servers do) else."""

    def answer(request: httpx.Request) -> httpx.Response:
        return routes.get(request.url.path, httpx.Response(404, text="<html>Not Found</html>"))

    return httpx.Client(base_url="http://san.test", transport=httpx.MockTransport(answer))


@pytest.mark.parametrize(("routes", "api"), [
    # A real SANOS array: no XEVO about (its help may need a login: it is not asked for).
    ({"/rest/": httpx.Response(401, json={"error": {"code": 10100, "message": "login"}})},
     Api.SANOS),
    ({"/rest/": httpx.Response(200, json=HELP)}, Api.SANOS),
    # A real XEVO array: about is open, SANOS's help is not there.
    ({"/rest/v1/about": httpx.Response(200, json=ABOUT)}, Api.XEVO),
    ({"/rest/v1/about": httpx.Response(200, json=ABOUT),
      "/rest/": httpx.Response(401, json={"error": {"code": 401, "message": "no"}})}, Api.XEVO),
    # Both (OpenSAN): SANOS, the API with more calls.
    ({"/rest/v1/about": httpx.Response(200, json=ABOUT), "/rest/": httpx.Response(200, json=HELP)},
     Api.SANOS),
    # An about that is not XEVO's AboutData is no evidence of XEVO.
    ({"/rest/v1/about": httpx.Response(200, json={"version": "1"})}, Api.SANOS),
    ({"/rest/v1/about": httpx.Response(200, text="<html>about us</html>")}, Api.SANOS),
], ids=["sanos-help-behind-login", "sanos-open-help", "xevo", "xevo-closed-rest", "both",
        "other-about", "html-about"])
def test_the_api_is_told_by_what_the_open_calls_answer(routes: dict[str, httpx.Response],
                                                        api: Api) -> None:
    with fake(routes) as http:
        assert detect_api(http) is api


def test_an_array_that_does_not_answer_is_a_connection_failure() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with httpx.Client(base_url="http://san.test", transport=httpx.MockTransport(refuse)) as http, \
            pytest.raises(ConnectionFailed, match="Cannot connect"):
        detect_api(http)


def test_opensan_is_spoken_to_in_sanos_unless_xevo_is_asked_for(
        opensan_array: VirtualArray) -> None:
    with connect(opensan_array.base_url, "admin", "1234") as found:
        assert isinstance(found, SanosClient)
    with connect(opensan_array.base_url, "admin", "1234", api=Api.XEVO) as chosen:
        assert isinstance(chosen, XevoClient)
        assert chosen.login().role == "admin"


def test_a_xevo_only_array_is_found_and_served_without_any_sanos_call(
        opensan_array: VirtualArray) -> None:
    """OpenSAN behind a proxy that passes only XEVO's paths: a real XEVO array, as far as the
    client can tell. Detection says XEVO, and a whole session never asks for a SANOS path."""
    upstream = httpx.HTTPTransport()
    asked: list[str] = []

    def xevo_only(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if not request.url.path.startswith(("/auth/", "/rest/v1/", "/rest/v2/")):
            return httpx.Response(404, text="Not Found")
        request.url = request.url.copy_with(
            host="127.0.0.1", port=httpx.URL(opensan_array.base_url).port)
        return upstream.handle_request(request)

    transport = httpx.MockTransport(xevo_only)
    with httpx.Client(base_url="http://san.test", transport=transport) as http:
        assert detect_api(http) is Api.XEVO
    array: StorageArray
    with XevoClient("http://san.test", "admin", "1234", transport=transport) as array:
        assert [v.name for v in array.volumes()] == [
            v.name for v in opensan_array.client.volumes()]
        assert array.targets() and array.pools()
    assert all(path.startswith(("/auth/", "/rest/v1/", "/rest/v2/"))
               for path in asked if path != "/rest/")
