"""The CLI's saved session: which array, which account, and its session token. Never a password.

`opensan login` writes it; every other command reads it, so the password is typed once and
lives nowhere. The file is created with mode 0600 in a 0700 directory, because the token is as
good as the password until the session ends. `OPENSAN_CONFIG_DIR` moves it (tests, several
arrays side by side); otherwise it is in the user's config directory (`$XDG_CONFIG_HOME`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import typer
from pydantic import BaseModel, ValidationError

from opensan.client.models import Api

CONFIG_DIR_VARIABLE = "OPENSAN_CONFIG_DIR"


class SavedSession(BaseModel):
    url: str
    account: str
    token: str
    # The API the array was found to speak at login (sessions saved before XEVO are SANOS's),
    # and a XEVO session's refresh token: as secret as the token.
    api: Api = Api.SANOS
    refresh_token: str | None = None
    # TLS as given at login: a CA file to trust, or verification turned off.
    ca_file: str | None = None
    insecure: bool = False


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_VARIABLE)
    return Path(override) if override else Path(typer.get_app_dir("opensan"))


def session_path() -> Path:
    return config_dir() / "session.json"


def load_session() -> SavedSession | None:
    """The saved session, or None when there is none (or it cannot be read)."""
    try:
        return SavedSession.model_validate_json(session_path().read_text())
    except (OSError, ValidationError):
        return None


def save_session(session: SavedSession) -> Path:
    """Write the session atomically; the file is never readable by others, not even briefly."""
    directory = config_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".session-")  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump(session.model_dump(), file)
        os.replace(temporary, session_path())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return session_path()


def forget_session() -> None:
    session_path().unlink(missing_ok=True)
