"""optuna-dashboard on an lstmbench storage: loopback by default, a clear word when it is not."""

from __future__ import annotations

import errno
import ipaddress
import sys
from typing import Any, TextIO

from lstmbench.errors import UserError
from lstmbench.storage import mask, sqlite_path, storage_url

LOOPBACK_NAMES = ("localhost", "ip6-localhost")


def is_loopback(host: str) -> bool:
    """Return True when ``host`` only accepts connections from this machine."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_dashboard(storage: str | None, host: str, port: int) -> tuple[Any, str]:
    """Return (a bound, not yet serving WSGI server, its URL) for optuna-dashboard on ``storage``.

    Refuses a storage without lstmbench studies, and a port that is taken, with a message.
    """
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from optuna_dashboard import wsgi

    from lstmbench.storage import find_studies

    rdb, _ = find_studies(storage, "all")  # an empty or foreign storage is refused here

    class Server(WSGIServer):
        daemon_threads = True

    from socketserver import ThreadingMixIn

    class ThreadedServer(ThreadingMixIn, Server):
        pass

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # one line per request is noise
            pass

    if ":" in host and not host.startswith("["):
        import socket

        ThreadedServer.address_family = socket.AF_INET6
    try:
        server = make_server(host.strip("[]"), port, wsgi(rdb), server_class=ThreadedServer,
                             handler_class=QuietHandler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} on {host} is taken (another dashboard?): give another "
                            "--port N", exit_code=1) from None
        if exc.errno == errno.EACCES:
            raise UserError(f"port {port} needs privileges: give --port above 1023",
                            exit_code=1) from None
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}", exit_code=1) from None
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    return server, f"http://{shown}:{server.server_port}/"


def serve_dashboard(*, storage: str | None = None, host: str = "127.0.0.1", port: int = 8080,
                    out: TextIO | None = None) -> int:
    """Serve optuna-dashboard on ``storage`` until Ctrl-C; return the exit code (0)."""
    out = out or sys.stdout
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port} is out of range: 0..65535")
    server, url = make_dashboard(storage, host, port)
    if not is_loopback(host):
        print(f"warning: listening on {host}: anyone who can reach this machine can read and "
              "change these studies (optuna-dashboard has no authentication)", file=sys.stderr)
    print(f"optuna-dashboard for {mask(storage_url(storage))} on {url}  (Ctrl-C stops it)",
          file=out, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def save_verdict(storage: str | None, study: str, verdict: str) -> None:
    """Save ``verdict`` (plain text) as the study's note in optuna-dashboard, with the command
    that prints the full report and what the plots show."""
    import optuna
    from optuna_dashboard import save_note

    from lstmbench.storage import named_if_full, open_storage

    url = storage_url(storage)
    path = sqlite_path(url)
    if path is not None:  # the dashboard may be read far from the folder the sweep ran in
        url = f"sqlite:///{path.resolve()}"
    rdb = open_storage(url, heartbeat=None, must_exist=True)
    with named_if_full(url, study):
        save_note(optuna.load_study(study_name=study, storage=rdb), note(verdict, study, mask(url)))


def note(verdict: str, study: str, url: str) -> str:
    """Return the study's note (Markdown): the verdict as the sweep printed it, then how to read on."""
    fence = "```"
    return (f"## Verdict\n\n{fence}text\n{verdict.rstrip()}\n{fence}\n\n"
            f"The full report: `lstmbench report --study {study} --storage {url}` "
            "(`--out DIR` adds Markdown, HTML and plots).\n\n"
            "The objective is log10 of the time to solution in seconds (-2 is 10 ms, 0 is 1 s); "
            "a trial where no seed converged scores 2 or more, behind every one that converged. "
            "The user attributes `converged_share` (seeds that converged) and `median_epoch` "
            "(over those seeds) can be chosen as the y axis of the History plot.\n")
