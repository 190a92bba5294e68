"""``python -m jobs.launch``: the web server and the scheduler process together, as ``make run``
starts them.

Both run as child processes (``flask run`` and ``flask jobs scheduler``) with this process's
environment. Ctrl-C (or SIGTERM) stops both; if either exits on its own, the other is stopped
too and the launcher exits with its status, so the two never run one without the other.
"""

from __future__ import annotations

import argparse
import signal
import subprocess  # nosec B404  # runs our own flask commands, no shell
import sys
import time
from collections.abc import Sequence
from types import FrameType

#: Seconds a child is given to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 15.0


def commands(host: str, port: int) -> dict[str, list[str]]:
    flask = [sys.executable, "-m", "flask", "--app", "web"]
    return {
        "网站": [*flask, "run", "--host", host, "--port", str(port)],
        "调度进程": [*flask, "jobs", "scheduler"],
    }


def stop_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each child still running, then SIGKILL to any left after ``STOP_TIMEOUT``."""
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in children.values():
        try:
            child.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="启动网站和调度进程；Ctrl-C 同时停止两者。")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)

    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    children = {
        name: subprocess.Popen(command)  # noqa: S603  # nosec B603  # fixed argv, no shell
        for name, command in commands(args.host, args.port).items()
    }
    print(f"网站 http://{args.host}:{args.port} 与调度进程已启动；按 Ctrl-C 同时停止。", flush=True)
    status = 0
    try:
        while not stopping:
            ended = {
                name: child.returncode
                for name, child in children.items()
                if child.poll() is not None
            }
            if ended:
                name, status = next(iter(ended.items()))
                print(
                    f"{name}已退出（状态 {status}），正在停止另一个进程。",
                    file=sys.stderr,
                    flush=True,
                )
                break
            time.sleep(0.5)
    finally:
        stop_all(children)
    return status


if __name__ == "__main__":
    sys.exit(main())
