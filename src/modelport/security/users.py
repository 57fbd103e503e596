"""Users: create, look up, and check a password (argon2, off the event loop).

A login for a username that does not exist still verifies a dummy argon2 hash
(:func:`modelport.security.passwords.verify_dummy`), so response time does not reveal which
usernames exist.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from modelport.errors import Conflict, InvalidInput, NotFound, Unauthorized
from modelport.security import model_access, passwords
from modelport.security.scopes import ADMIN, DEFAULT_USER_SCOPES, normalize
from modelport.security.tables import ApiKeyRow, UserRow
from modelport.storage.engine import SessionFactory

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
_USERNAME_RE = re.compile(USERNAME_PATTERN)
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
Role = Literal["user", "admin"]


class UserInfo(BaseModel):
    id: str
    username: str
    role: str
    scopes: list[str]
    created_at: datetime
    models: list[str] | None = None
    disabled: bool = False
    token_version: int = Field(default=0, exclude=True)  # internal: what new tokens carry

    @classmethod
    def of(cls, row: UserRow) -> UserInfo:
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        return cls(id=row.id, username=row.username, role=row.role, scopes=sorted(row.scopes or []),
                   created_at=created, models=row.models, disabled=bool(row.disabled),
                   token_version=row.token_version or 0)


def check_username(username: str) -> str:
    if not _USERNAME_RE.match(username):
        raise InvalidInput("invalid username: 1-64 letters, digits, '.', '_', '@' or '-'")
    return username


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD or "\x00" in password:
        raise InvalidInput(f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters, without NUL")
    return password


def _by_name(username: str) -> Select[Any]:
    return select(UserRow).where(UserRow.username == username)


class UserService:
    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    async def create(self, username: str, password: str | None, *, role: Role = "user",
                     scopes: list[str] | None = None, models: list[str] | None = None) -> UserInfo:
        check_username(username)
        if role not in ("user", "admin"):
            raise InvalidInput("role must be 'user' or 'admin'")
        granted = {ADMIN} if role == "admin" else set(normalize(scopes or DEFAULT_USER_SCOPES))
        hashed = None
        if password is not None:
            hashed = await asyncio.to_thread(passwords.hash_password, check_password(password))
        row = UserRow(id=secrets.token_hex(8), username=username, password_hash=hashed, role=role,
                      scopes=sorted(granted), disabled=False)
        patterns = model_access.parse_patterns(models)
        row.models = None if patterns is None else list(patterns)
        async with self.sessions() as session:
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                raise Conflict(f"user {username!r} already exists") from None
            await session.refresh(row)
        return UserInfo.of(row)

    async def get(self, user_id: str) -> UserInfo:
        async with self.sessions() as session:
            row = await session.get(UserRow, user_id)
        if row is None:
            raise NotFound("user not found")
        return UserInfo.of(row)

    async def by_username(self, username: str) -> UserInfo:
        async with self.sessions() as session:
            query = select(UserRow).where(UserRow.username == username)
            row = (await session.execute(query)).scalar_one_or_none()
        if row is None:
            raise NotFound(f"user {username[:64]!r} not found")
        return UserInfo.of(row)

    async def count(self) -> int:
        async with self.sessions() as session:
            return int((await session.execute(select(func.count()).select_from(UserRow))).scalar_one())

    async def authenticate(self, username: str, password: str) -> UserInfo:
        """The user for a username and password; one generic error for every failure."""
        row = None
        if _USERNAME_RE.match(username):
            async with self.sessions() as session:
                row = (await session.execute(
                    select(UserRow).where(UserRow.username == username)
                )).scalar_one_or_none()
        if row is None or row.password_hash is None or row.disabled:
            await asyncio.to_thread(passwords.verify_dummy, password)  # equal time for unknown users
            raise Unauthorized("invalid username or password")
        if not await asyncio.to_thread(passwords.verify_password, password, row.password_hash):
            raise Unauthorized("invalid username or password")
        return UserInfo.of(row)

    # --- lifecycle (#17): every change that must end older tokens bumps ``token_version``
    async def list_all(self) -> list[UserInfo]:
        async with self.sessions() as session:
            rows = (await session.execute(select(UserRow).order_by(UserRow.username))).scalars().all()
        return [UserInfo.of(row) for row in rows]

    async def update(self, username: str, *, disabled: bool | None = None,
                     scopes: list[str] | None = None) -> UserInfo:
        """Enable/disable a user or set their scopes; either ends the user's older tokens."""
        async with self.sessions() as session:
            row = (await session.execute(_by_name(username))).scalar_one_or_none()
            if row is None:
                raise NotFound(f"user {username[:64]!r} not found")
            if disabled is not None:
                row.disabled = disabled
            if scopes is not None:
                if row.role == "admin":
                    raise InvalidInput("an admin holds every scope; its scopes cannot be set")
                row.scopes = sorted(normalize(scopes))
            row.token_version = (row.token_version or 0) + 1
            await session.commit()
            await session.refresh(row)
        return UserInfo.of(row)

    async def delete(self, username: str) -> UserInfo:
        """Delete a user and their API keys."""
        async with self.sessions() as session:
            row = (await session.execute(_by_name(username))).scalar_one_or_none()
            if row is None:
                raise NotFound(f"user {username[:64]!r} not found")
            info = UserInfo.of(row)
            await session.execute(delete(ApiKeyRow).where(ApiKeyRow.owner_id == row.id))
            await session.execute(delete(UserRow).where(UserRow.id == row.id))
            await session.commit()
        return info

    async def change_password(self, user_id: str, current: str | None, new: str) -> UserInfo:
        """Set a new password (``current`` must match unless None: local CLI); ends older tokens."""
        check_password(new)
        async with self.sessions() as session:
            row = await session.get(UserRow, user_id)
        if row is None:
            raise NotFound("user not found")
        if current is not None and (row.password_hash is None or not await asyncio.to_thread(
                passwords.verify_password, current, row.password_hash)):
            raise Unauthorized("the current password is not correct")
        hashed = await asyncio.to_thread(passwords.hash_password, new)
        async with self.sessions() as session:
            await session.execute(update(UserRow).where(UserRow.id == user_id).values(
                password_hash=hashed, token_version=UserRow.token_version + 1))
            await session.commit()
        return await self.get(user_id)
