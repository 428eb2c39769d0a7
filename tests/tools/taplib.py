# SPDX-License-Identifier: MIT
"""A minimal TAP producer for meson's protocol: 'tap' (Python standard library only)."""
import sys


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = []

    def ok(self, cond, name, detail=None):
        """Record one check; print the detail as a diagnostic when it fails."""
        self.n += 1
        cond = bool(cond)
        print(f"{'ok' if cond else 'not ok'} {self.n} - {name}", flush=True)
        if not cond:
            self.failed.append(name)
            if detail is not None:
                self.diag(detail)
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, f"got {got!r}, want {want!r}")

    def near(self, got, want, name, tol=1e-6):
        """Numbers equal up to tol (relative, or absolute near 0); None must match None."""
        if want is None or got is None or isinstance(got, bool):
            return self.eq(got, want, name)
        good = isinstance(got, (int, float)) and abs(got - want) <= tol * max(1.0, abs(want))
        return self.ok(good, name, f"got {got!r}, want {want!r}")

    def diag(self, text):
        for line in str(text).splitlines() or [""]:
            print(f"# {line}", flush=True)

    def done(self):
        print(f"1..{self.n}", flush=True)
        if self.failed:
            print(f"# {len(self.failed)} of {self.n} checks failed", flush=True)
        return 1 if self.failed else 0


def main_guard(fn):
    """Run fn(tap); an unexpected exception is a failed check, never a silent pass."""
    tap = Tap()
    try:
        fn(tap)
    except Exception as e:  # noqa: BLE001 - report anything as a failure
        import traceback
        tap.ok(False, f"unexpected {type(e).__name__}: {e}", traceback.format_exc())
    sys.exit(tap.done())
