"""One line per check, and the failures kept for the exit status: shared by
the packaging tests."""
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok
