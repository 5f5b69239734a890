"""Check many phone numbers in a second process while the rest of the gate runs.

Phone validation (libphonenumber's full check) costs about 25 µs a number, a
quarter of the gate's time on a large manifest, and depends on nothing else, so
it runs on the machine's other core. The worker is a plain ``python -m`` child
process fed JSON through a temporary file: unlike a multiprocessing pool it never
re-imports the caller's ``__main__``, so library users need no ``__main__`` guard.
If the child fails for any reason, the numbers are checked in-process instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

from doorstep.gate.rules.contact import invalid_phone_rows


class PhoneWorker:
    """A running check of ``(row, number)`` pairs; :meth:`result` waits for it."""

    def __init__(self, phones: list[tuple[int, str]], region: str | None) -> None:
        self._phones = phones
        self._region = region
        self._input = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self._input.write(json.dumps({"region": region, "phones": phones}).encode())
        self._input.seek(0)
        try:
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "doorstep.gate.phone_worker"],
                stdin=self._input,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            self._process = None

    def result(self) -> set[int]:
        """Rows whose number is invalid (computed here if the worker failed)."""
        if self._process is not None:
            output, _ = self._process.communicate()
            if self._process.returncode == 0:
                try:
                    return set(json.loads(output))
                except ValueError:
                    pass
        return invalid_phone_rows(self._phones, self._region)

    def close(self) -> None:
        """Stop the worker if it is still running and free its input."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._input.close()


def main() -> None:
    """Read ``{"region", "phones": [[row, number], ...]}`` on stdin; print the invalid rows."""
    request = json.load(sys.stdin)
    phones = [(int(row), str(number)) for row, number in request["phones"]]
    json.dump(sorted(invalid_phone_rows(phones, request["region"])), sys.stdout)


if __name__ == "__main__":
    main()
