"""Where an index lives, said for people: a folder, or a database URL without its password."""

from __future__ import annotations

from urllib.parse import urlsplit

from kb.config import Settings


def redact(url: str) -> str:
    """A database URL without its password: for logs, messages and reports."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "localhost", parts.port
    except ValueError:
        return "postgresql://(unreadable URL)"
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{f':{port}' if port else ''}{parts.path}"


def index_location(settings: Settings) -> str:
    """Where the settings' index lives, for people: a folder, or a database (no password)."""
    if settings.database_url:
        return f"{redact(settings.database_url)} (schema {settings.pg_schema})"
    return f"{settings.index_dir}/"
