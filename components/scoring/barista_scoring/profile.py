"""A follower profile as scoring reads it: the handle is required, everything else may be missing.

``None`` means *unknown* (the scraper did not see it) and lowers confidence; an empty string or
``False`` is a known value ("no biography", "no picture") and is evidence like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

#: Longest accepted strings: platforms allow 30 (handle), 64 (name) and 150-1000 (bio) characters;
#: we accept generous multiples and refuse the rest with a clear error instead of scoring garbage.
MAX_HANDLE = 100
MAX_NAME = 256
MAX_BIO = 4096
MAX_URL = 2048
MAX_COUNT = 10**12


@dataclass(frozen=True, slots=True)
class Profile:
    handle: str
    full_name: str | None = None
    biography: str | None = None
    follower_count: int | None = None
    following_count: int | None = None
    post_count: int | None = None
    has_profile_pic: bool | None = None
    is_private: bool | None = None
    is_verified: bool | None = None
    external_url: str | None = None
    #: The caller's id for this profile, echoed back (optional).
    id: str | None = None


Handle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_HANDLE)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


class ProfileIn(BaseModel):
    """The wire form of :class:`Profile` (API, JSONL files): strict types, bounded sizes, no extras."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    handle: Handle = Field(description="The profile's handle (username), with or without a leading @.")
    full_name: str | None = Field(default=None, max_length=MAX_NAME, description="Display name, any script.")
    biography: str | None = Field(default=None, max_length=MAX_BIO, description="Bio text; '' if empty.")
    follower_count: Count | None = Field(default=None, description="Followers of this profile.")
    following_count: Count | None = Field(default=None, description="Accounts this profile follows.")
    post_count: Count | None = Field(default=None, description="Posts published.")
    has_profile_pic: bool | None = Field(default=None, description="Has a (non-default) profile picture.")
    is_private: bool | None = Field(default=None, description="Private account.")
    is_verified: bool | None = Field(default=None, description="Verified badge.")
    external_url: str | None = Field(default=None, max_length=MAX_URL, description="Link in bio; '' if none.")
    id: str | None = Field(default=None, max_length=256, description="Your id for this profile, echoed back.")

    def to_profile(self) -> Profile:
        return Profile(**self.model_dump())


def parse_profile(data: Any) -> Profile:
    """Validate one profile from decoded JSON. Raises :class:`ProfileError` with readable problems."""
    try:
        return ProfileIn.model_validate(data).to_profile()
    except ValidationError as exc:
        raise ProfileError(describe_errors(exc)) from None


class ProfileError(ValueError):
    """A profile that cannot be scored: the message lists each bad field."""


def describe_errors(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "profile"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
