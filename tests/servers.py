"""Servers that tests start themselves: a free loopback port, and stopping a server process for sure."""

import socket
import subprocess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(server: subprocess.Popen, timeout_s: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout_s``; always reaped."""
    server.terminate()
    try:
        server.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        server.kill()
        server.communicate()
