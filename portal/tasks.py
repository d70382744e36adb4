from celery import shared_task


@shared_task(name="portal.tasks.ping", acks_late=True, time_limit=30, soft_time_limit=25)
def ping(token: str) -> dict:
    """Round-trip probe: proves a worker consumed the broker and wrote the result backend."""
    import os
    import socket

    return {"token": token, "host": socket.gethostname(), "pid": os.getpid()}
