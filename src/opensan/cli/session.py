"""The CLI's saved session: which array, which account, and its session token. Never a password.

`opensan login` writes it; every other command reads it, so the password is typed once and
lives nowhere. The file is created with mode 0600 in a 0700 directory, because the token is as
good as the password until the session ends. `OPENSAN_CONFIG_DIR` moves it (tests, several
arrays side by side); otherwise it is in the user's config directory (`$XDG_CONFIG_HOME`).

A dataclass, not a pydantic model: every command reads this file, and pydantic takes longer to
import than a `--json` read takes to answer.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any, get_type_hints

import typer

from opensan.client.api import Api

CONFIG_DIR_VARIABLE = "OPENSAN_CONFIG_DIR"


@dataclasses.dataclass
class SavedSession:
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

    @classmethod
    def from_json(cls, text: str) -> SavedSession:
        """The session a file holds; ValueError when it holds none (fields of a newer version
        are left out)."""
        data: Any = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        known = {field.name for field in dataclasses.fields(cls)}
        if "api" in data:
            data["api"] = Api(data["api"])  # ValueError for a word that names no API
        try:
            session = cls(**{key: value for key, value in data.items() if key in known})
        except TypeError as error:  # a field is missing
            raise ValueError(str(error)) from None
        for name, kind in get_type_hints(cls).items():
            if not isinstance(getattr(session, name), kind):
                raise ValueError(f"{name} is not {kind}")
        return session


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_VARIABLE)
    return Path(override) if override else Path(typer.get_app_dir("opensan"))


def session_path() -> Path:
    return config_dir() / "session.json"


def load_session() -> SavedSession | None:
    """The saved session, or None when there is none (or it cannot be read)."""
    try:
        return SavedSession.from_json(session_path().read_text())
    except (OSError, ValueError):
        return None


def save_session(session: SavedSession) -> Path:
    """Write the session atomically; the file is never readable by others, not even briefly."""
    directory = config_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".session-")  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump(dataclasses.asdict(session), file)
        os.replace(temporary, session_path())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return session_path()


def forget_session() -> None:
    session_path().unlink(missing_ok=True)
