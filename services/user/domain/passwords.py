"""The password policy's own rules. Every rule that fails is reported, so the form can show
them all; common and breached-pattern passwords are told by the `PasswordScreen` port."""

from __future__ import annotations

from dataclasses import dataclass

MIN_LENGTH = 10
MAX_LENGTH = 128


@dataclass(frozen=True, slots=True)
class PolicyViolation:
    field: str
    description: str


def password_violations(
    password: str, email: str, field: str = "password"
) -> list[PolicyViolation]:
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters long")
    if not any(ch.isalpha() for ch in password):
        problems.append("must contain at least one letter")
    if all(ch.isalpha() for ch in password):
        problems.append("must contain at least one digit or symbol")
    local_part = email.strip().split("@", 1)[0].lower()
    if len(local_part) >= 3 and local_part in password.lower():
        problems.append("must not contain the e-mail address")
    return [PolicyViolation(field, problem) for problem in problems]
