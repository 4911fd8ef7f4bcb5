"""Pre-authenticated request (PAR) URLs, served by a real local HTTP server that
behaves like object storage: GET/HEAD on objects, JSON listings on ``/o/``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from lakehouse.errors import ObjectNotFoundError
from tests.formats.test_csv import sql_literal

OBJECTS = {
    "sales/2024/a.csv": b"1|x|\n2|y|\n",
    "sales/2024/b.csv": b"3|z|\n",
    "sales/2025/c.csv": b"4|w|\n",
}
SECRET = "s3cr3tT0k3n"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _route(self) -> tuple[str, dict[str, list[str]]] | None:
        url = urlparse(self.path)
        prefix = f"/p/{SECRET}/n/ns/b/bucket/o/"
        if not url.path.startswith(prefix):
            return None
        return unquote(url.path[len(prefix) :]), parse_qs(url.query)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        route = self._route()
        if route is None:
            self.send_response(403)
            self.end_headers()
            return
        name, query = route
        if name == "":
            prefix = query.get("prefix", [""])[0]
            names = sorted(k for k in OBJECTS if k.startswith(prefix))
            start = query.get("start", [None])[0]
            if start:
                names = [n for n in names if n >= start]
            page, rest = names[:2], names[2:]  # small pages to exercise paging
            doc = {"objects": [{"name": n, "size": len(OBJECTS[n])} for n in page]}
            if rest:
                doc["nextStartWith"] = rest[0]
            data = json.dumps(doc).encode()
        elif name in OBJECTS:
            data = OBJECTS[name]
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)


@pytest.fixture(scope="module")
def par_base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/p/{SECRET}/n/ns/b/bucket/o/"
    server.shutdown()
    server.server_close()


def load(session, entry: dict) -> list[int]:  # type: ignore[no-untyped-def]
    session.sql("CREATE DATABASE IF NOT EXISTS db")
    session.sql("USE db")
    session.sql("DROP TABLE IF EXISTS t")
    attr = sql_literal(json.dumps({"file": [entry]}))
    session.sql(
        f"CREATE TABLE t (a INT, b VARCHAR(3)) ENGINE=lakehouse SECONDARY_ENGINE=RAPID ENGINE_ATTRIBUTE={attr}"
    )
    session.sql("ALTER TABLE t SECONDARY_LOAD")
    return session.sql("SELECT a FROM t ORDER BY a").column("a").to_pylist()


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"name": "sales/2024/a.csv"}, [1, 2]),
        ({"prefix": "sales/2024/"}, [1, 2, 3]),
        ({"prefix": "sales/"}, [1, 2, 3, 4]),
        ({"pattern": r"20(24|25)/[bc]\.csv$"}, [3, 4]),
    ],
)
def test_par_with_selectors(session, par_base: str, entry: dict, expected: list[int]) -> None:  # type: ignore[no-untyped-def]
    assert load(session, {"par": par_base, **entry}) == expected


def test_par_to_one_object_and_errors(session, par_base: str) -> None:  # type: ignore[no-untyped-def]
    assert load(session, {"par": par_base + "sales/2025/c.csv"}) == [4]
    # Not loaded: read in place over HTTP as well.
    session.sql("ALTER TABLE t SECONDARY_UNLOAD")
    assert session.sql("SELECT a FROM t").column("a").to_pylist() == [4]
    with pytest.raises(ObjectNotFoundError) as exc:
        load(session, {"par": par_base + "sales/missing.csv"})
    assert SECRET not in str(exc.value)
    assert "/p/***/" in str(exc.value)
