"""Agent accounts: argon2 password hashes, roles."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from protocol.models import ErrorCode, Role
from server import models
from server.identity import IdentityRejected

_hasher = PasswordHasher()
# Verifying against this when the e-mail is unknown keeps the timing of a
# failed sign-in the same whether or not the account exists.
_DUMMY_HASH = _hasher.hash("helpbridge-no-such-agent")

MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_agent(
    db: DbSession, *, email: str, name: str, password: str, role: Role = Role.agent
) -> models.Agent:
    email = email.strip().lower()
    if "@" not in email:
        raise ValueError("an agent's e-mail needs an @")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must have at least {MIN_PASSWORD} characters")
    if db.scalar(select(models.Agent).where(models.Agent.email == email)) is not None:
        raise ValueError(f"an agent with e-mail {email} exists already")
    agent = models.Agent(
        email=email,
        name=name.strip() or email,
        password_hash=hash_password(password),
        role=role.value,
        active=True,
    )
    db.add(agent)
    db.flush()
    return agent


def authenticate(db: DbSession, email: str, password: str) -> models.Agent:
    agent = db.scalar(select(models.Agent).where(models.Agent.email == email.strip().lower()))
    try:
        _hasher.verify(agent.password_hash if agent else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError) as exc:
        raise IdentityRejected(ErrorCode.bad_credentials, "wrong e-mail or password") from exc
    if agent is None:
        raise IdentityRejected(ErrorCode.bad_credentials, "wrong e-mail or password")
    if not agent.active:
        raise IdentityRejected(ErrorCode.account_disabled, "this agent account is disabled")
    if _hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = hash_password(password)
    return agent


def password_matches(agent: models.Agent, password: str) -> bool:
    try:
        return _hasher.verify(agent.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
