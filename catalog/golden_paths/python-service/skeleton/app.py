"""${{ values.name }}: ${{ values.description }}.

A WSGI application on the standard library only: GET / answers with the service's name, GET /healthz with ok.
"""
import json
import os
from wsgiref.simple_server import make_server

NAME = "${{ values.name }}"


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/healthz":
        status, body, kind = "200 OK", b"ok\n", "text/plain"
    elif path == "/":
        status, kind = "200 OK", "application/json"
        body = json.dumps({"service": NAME, "version": os.environ.get("VERSION", "dev")}).encode()
    else:
        status, body, kind = "404 Not Found", b"not found\n", "text/plain"
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    with make_server("", port, application) as server:
        print(f"{NAME} listening on :{port}")
        server.serve_forever()
