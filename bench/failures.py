"""How the bench's own script tests end (smoke_test.py, peers/peers_test.py): each failure on a
line of its own, then `ok` or how many failed, and the exit status to match."""


def report(failures):
    """Prints `failures`; returns the exit status, 0 when there are none and 1 otherwise."""
    for failure in failures:
        print('FAIL:', failure)
    print('ok' if not failures else f'{len(failures)} failure(s)')
    return 1 if failures else 0
