"""Talking to fake_db.py: one command per call. Shared by migrate.py, api.py and report.py."""

import socket


def ask(address, command, timeout=2.0):
    """Send one command line to the db at "host:port" and return its one-line reply."""
    host, _, port = address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as conn:
        conn.sendall((command + "\n").encode())
        reply = conn.makefile("r", encoding="utf-8").readline()
    return reply.strip()
