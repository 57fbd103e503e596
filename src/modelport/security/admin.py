"""First start: create an ``admin`` user and API key, print the key once, keep it in home.

Runs when the users table is empty. The key is written to ``$MODELPORT_HOME/admin.key``
(mode 0600) so local scripts can read it; the ``admin`` user has no password (set one with
``modelport users create``, or create more keys with ``modelport keys create``).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from modelport.errors import Conflict
from modelport.security.secret import write_private
from modelport.security.service import AuthService

log = logging.getLogger(__name__)
ADMIN_KEY_FILE = "admin.key"
ADMIN_USER = "admin"


async def ensure_admin(auth: AuthService, home: Path) -> str | None:
    """Create the first admin key when there is no user yet; returns it (None if not created)."""
    if await auth.users.count() > 0:
        return None
    try:
        user = await auth.users.create(ADMIN_USER, None, role="admin")
    except Conflict:  # another replica won the race
        return None
    _, plaintext = await auth.keys.create(user.id, name="first-start admin key", scopes=["admin"])
    path = home / ADMIN_KEY_FILE
    write_private(path, plaintext + "\n")
    sys.stdout.write(
        "\n  A new admin API key was created (shown once; also saved, mode 0600, in "
        f"{path}):\n\n    {plaintext}\n\n"
        f"  curl -H \"Authorization: Bearer $(cat {path})\" ...\n\n"
    )
    sys.stdout.flush()
    log.info("created the first admin API key in %s", path)
    return plaintext
