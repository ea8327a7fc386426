"""The vendor backend's side: sign a customer's HelpBridge identity token (PyJWT).

Runs on YOUR SERVER, never on the customer's PC: the signing secret must not
ship with desktop software. Your desktop software asks your backend (over its
own authenticated HTTPS API) for a fresh token when the customer opens help.

    export HELPBRIDGE_IDENTITY_KID=2026-11           # from: helpbridge-server identity-key add
    export HELPBRIDGE_IDENTITY_SECRET=...            # printed once by the same command
    python examples/sign_token.py --sub cust-42 --name "Li Wei" --tier vip

prints the token. The secret is read from the environment (or a secrets
manager), never from the command line, where other local users could see it.
Claims: docs/embedding.md section 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jwt

MAX_TTL_S = 24 * 3600  # the service refuses tokens that live longer


def sign_identity(
    secret: str,
    kid: str,
    *,
    sub: str,
    ttl_s: int = 2 * 3600,
    **claims: str,
) -> str:
    """A compact HS256 JWT with ``kid`` in its header, as HelpBridge expects."""
    if not 0 < ttl_s <= MAX_TTL_S:
        raise ValueError("ttl_s must be between 1 s and 24 h")
    now = int(time.time())
    payload: dict[str, object] = {"sub": sub, "iat": now, "exp": now + ttl_s}
    payload.update({k: v for k, v in claims.items() if v})
    return jwt.encode(payload, secret, algorithm="HS256", headers={"kid": kid})


def secret_from_env() -> tuple[str, str]:
    """(kid, secret) from HELPBRIDGE_IDENTITY_KID / HELPBRIDGE_IDENTITY_SECRET."""
    kid = os.environ.get("HELPBRIDGE_IDENTITY_KID", "").strip()
    secret = os.environ.get("HELPBRIDGE_IDENTITY_SECRET", "").strip()
    if not kid or not secret:
        raise SystemExit(
            "sign_token: set HELPBRIDGE_IDENTITY_KID and HELPBRIDGE_IDENTITY_SECRET "
            "(helpbridge-server identity-key add --kid K prints the secret)"
        )
    return kid, secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sign a HelpBridge customer identity token.")
    parser.add_argument("--sub", required=True, help="your customer id")
    parser.add_argument("--name", default="")
    parser.add_argument("--email", default="")
    parser.add_argument("--company", default="")
    parser.add_argument("--tier", choices=["normal", "vip", "svip"], default="normal")
    parser.add_argument("--product", default="")
    parser.add_argument("--product-version", default="")
    parser.add_argument("--ttl", type=int, default=2 * 3600, help="lifetime in seconds (≤ 86400)")
    args = parser.parse_args(argv)
    kid, secret = secret_from_env()
    token = sign_identity(
        secret,
        kid,
        sub=args.sub,
        ttl_s=args.ttl,
        name=args.name,
        email=args.email,
        company=args.company,
        tier=args.tier,
        product=args.product,
        product_version=args.product_version,
    )
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
