import logging

from portal.crypto import Secret, decrypt, encrypt
from portal.logging import RedactSecretsFilter, redact


def test_redact_masks_credentials():
    text = "push to https://deploy:s3cr3t-pass@git.example.com/x.git failed; Authorization: Bearer abc.def.ghi token=tok123"
    cleaned = redact(text)
    for secret in ("s3cr3t-pass", "abc.def.ghi", "tok123"):
        assert secret not in cleaned
    assert "git.example.com" in cleaned


def test_log_filter_redacts_messages_and_tracebacks(caplog):
    logger = logging.getLogger("wayline.test.redact")
    logger.addFilter(RedactSecretsFilter())
    with caplog.at_level(logging.INFO, logger="wayline.test.redact"):
        logger.info("cloning %s", "https://bot:hunter2@git.example.com/r.git")
        try:
            raise RuntimeError("password=hunter3 rejected")
        except RuntimeError:
            logger.exception("failed")
    output = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "hunter2" not in output and "hunter3" not in output
    assert "git.example.com" in output


def test_encryption_round_trip_and_secret_repr(settings):
    token = encrypt("kube-token-value")
    assert "kube-token-value" not in token
    value = Secret(decrypt(token))
    assert value == "kube-token-value"
    assert "kube-token-value" not in repr(value)


def test_a_refused_request_is_one_log_line_and_a_server_error_keeps_its_traceback(client, world):
    """Through the configured console handler and its filters: a 403 is one line, a 500 keeps its traceback."""
    import io

    console = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)
                   and any(type(f).__name__ == "ClientErrorsOneLine" for f in h.filters))
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        client.force_login(world.victor)
        assert client.get("/teams/add/").status_code == 403
        lines = [line for line in stream.getvalue().splitlines() if line.strip()]
        assert len([line for line in lines if "Forbidden" in line]) == 1, lines
        assert not any("Traceback" in line for line in lines), lines
        # As Django logs a refusal raised in a view: with the exception attached.
        from django.core.exceptions import PermissionDenied

        try:
            raise PermissionDenied("no")
        except PermissionDenied as exc:
            logging.getLogger("django.request").warning("Forbidden (Permission denied): /y", exc_info=exc,
                                                        extra={"status_code": 403})
        assert "Traceback" not in stream.getvalue() and "/y" in stream.getvalue()

        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            logging.getLogger("django.request").error("Internal Server Error: /x", exc_info=exc, extra={"status_code": 500})
        assert "Traceback" in stream.getvalue()
    finally:
        console.setStream(previous)
