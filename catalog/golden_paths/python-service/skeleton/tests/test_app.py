import json
import unittest
from wsgiref.util import setup_testing_defaults

import app


def get(path):
    environ = {"PATH_INFO": path}
    setup_testing_defaults(environ)
    environ["PATH_INFO"] = path
    answer = {}

    def start_response(status, headers):
        answer["status"] = status

    body = b"".join(app.application(environ, start_response))
    return answer["status"], body


class ServiceTest(unittest.TestCase):
    def test_health(self):
        self.assertEqual(get("/healthz"), ("200 OK", b"ok\n"))

    def test_root_names_the_service(self):
        status, body = get("/")
        self.assertEqual(status, "200 OK")
        self.assertEqual(json.loads(body)["service"], "${{ values.name }}")

    def test_unknown_path(self):
        self.assertEqual(get("/nope")[0], "404 Not Found")


if __name__ == "__main__":
    unittest.main()
