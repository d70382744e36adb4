"""${{ values.name }}: one run of the scheduled job. Exits 0 when the work is done, 1 when it failed."""
import sys
import time


def work(now: float) -> dict:
    """The job's work; replace with yours. Returns what it did, for the log."""
    return {"job": "${{ values.name }}", "ran_at": int(now)}


def main() -> int:
    try:
        print(work(time.time()))
    except Exception as exc:  # the CronJob's pod status says it failed; the log says why
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
