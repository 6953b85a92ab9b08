"""Security headers and the request id on every response, added where the app meets the server.

Every response carries the app's security headers, with its blueprint's own over them (pages
for people loosen a header or two), replacing any header of the same name that a view set, and
the request id that its log lines carry (skill.ops.endpoints). They go into the WSGI header
list in one pass: set one by one through werkzeug's Headers, they and the request id cost
about 0.15M more of a webhook's 2M instructions (docs/performance.md). A response made before
Flask sees the request (a slow body's 408) gets the security headers too.
"""

from __future__ import annotations

REQUEST_ID = "skill.request_id"  # the environ key the request id is kept in (skill.ops.endpoints)


def secured(wsgi_app, defaults: dict[str, str], by_blueprint: dict[str, dict[str, str]]):
    """WSGI middleware: `defaults` on every response, a blueprint's own headers over them."""
    merged = {None: _replacing(defaults)}
    merged |= {name: _replacing({**defaults, **own}) for name, own in by_blueprint.items()}

    def app(environ, start_response):
        def start(status, headers, exc_info=None):
            # Werkzeug's request puts itself in the environ; it names the blueprint that answered.
            request = environ.get("werkzeug.request")
            names, added = merged.get(request and request.blueprint, merged[None])
            kept = [header for header in headers if header[0].lower() not in names]
            request_id = environ.get(REQUEST_ID)
            echoed = [("X-Request-Id", request_id)] if request_id else []
            return start_response(status, kept + added + echoed, exc_info)

        return wsgi_app(environ, start)

    return app


def _replacing(headers: dict[str, str]) -> tuple[frozenset[str], list[tuple[str, str]]]:
    """The names the headers replace (lower case; the request id's too) and the headers, as
    WSGI lists them."""
    return frozenset(name.lower() for name in [*headers, "X-Request-Id"]), list(headers.items())
