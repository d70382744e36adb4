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
