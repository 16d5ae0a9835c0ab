"""Helpers for the Python interop tests that mount a file with vh5fs.

    with live_util.Mount(VH5FS, file, "-o", "ro") as m:
        os.listdir(m.root + "/versions")

A Mount starts `vh5fs -f FILE MOUNTPOINT OPTS...` on a fresh mount point
under /tmp/vh5fs-test-* (where ctest's cleanup_mounts looks), waits until it
is in /proc/mounts, and always unmounts: fusermount3 -u (retried while
busy), then -uz, then reaps vh5fs (killed after 10 s). Its stderr is kept
(Mount.log()) and printed when it exits with a non-zero status.

check() prints each assertion as "ok" or "FAIL" and keeps the failures;
report() is the script's exit status.
"""
import os
import subprocess
import tempfile
import time

failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def report():
    """1 (and how many failed) after any failed check, else 0."""
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    return 0


def is_mounted(path):
    with open("/proc/mounts") as f:
        return any(line.split()[1] == path for line in f)


class Mount:
    def __init__(self, vh5fs, file, *opts, prefix="vh5fs-test-live-"):
        self.root = tempfile.mkdtemp(prefix=prefix)
        self.status = None
        self._log_path = self.root + ".log"
        self._log = open(self._log_path, "wb")
        self.proc = subprocess.Popen([vh5fs, "-f", *opts, file, self.root],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not is_mounted(self.root):
            if self.proc.poll() is not None:
                log = self.log().strip()
                self._cleanup()
                raise RuntimeError(f"vh5fs exited with status {self.proc.returncode} before "
                                   f"mounting: {log}")
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("vh5fs did not mount within 30 s")
            time.sleep(0.01)

    def log(self):
        try:
            with open(self._log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Unmounts (lazily if it stays busy) and reaps vh5fs; its exit status
        is self.status (-9 if it had to be killed)."""
        if self.status is not None:
            return self.status
        for attempt in range(50):
            if not is_mounted(self.root):
                break
            if attempt == 49:
                subprocess.run(["fusermount3", "-uz", self.root], check=False)
                break
            r = subprocess.run(["fusermount3", "-u", self.root], check=False,
                               capture_output=True)
            if r.returncode == 0:
                break
            time.sleep(0.1)
        try:
            self.status = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.status = -9
        if self.status != 0:
            print(f"vh5fs on {self.root} ended with status {self.status}: {self.log().strip()}")
        self._cleanup()
        return self.status

    def _cleanup(self):
        self._log.close()
        try:
            os.rmdir(self.root)
        except OSError:
            pass
        try:
            os.unlink(self._log_path)
        except OSError:
            pass
