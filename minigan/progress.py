"""A one-line progress bar for long runs: done/total, rate and time left.

It redraws itself in place (a carriage return) at most a few times a second, and only on an
interactive terminal; logs and CI output get the trainer's periodic log lines instead.
"""
import sys
import time


def format_duration(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class ProgressBar:
    def __init__(self, total, stream=None, width=30, every=0.25):
        self.total, self.width, self.every = total, width, every
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = self.last = time.perf_counter()

    def update(self, done):
        now = time.perf_counter()
        if not self.enabled or (now - self.last < self.every and done < self.total):
            return
        self.last = now
        elapsed = now - self.start
        filled = int(self.width * done / self.total)
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (self.total - done) / rate if rate > 0 else 0.0
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} "
                          f"{rate:.1f} steps/s, {format_duration(left)} left ")
        self.stream.flush()

    def clear(self):
        """Erase the bar (before a log line is printed over it)."""
        if self.enabled:
            self.stream.write("\r" + " " * (self.width + 50) + "\r")
            self.stream.flush()
