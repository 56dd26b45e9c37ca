"""The plain-text answers of the gem API, worded after rubygems.org so `gem` prints them usefully.

`gem push` prints the body of any answer and exits 1 on a non-2xx status. Two openings are special
to it and must never be used for anything else: a 401 starting "You have enabled multifactor
authentication" (it asks for an OTP) and a 403 starting "The API key doesn't have access" (it
re-signs-in in an endless loop).
"""

from __future__ import annotations


def title(name: str, number: str, platform: str | None) -> str:
    """`name (1.0)` or `name (1.0-java)`, as rubygems.org's Version#to_title."""
    if platform and platform != "ruby":
        return f"{name} ({number}-{platform})"
    return f"{name} ({number})"


def pushed(name: str, number: str, platform: str | None) -> str:
    return f"Successfully registered gem: {title(name, number, platform)}"


def already_pushed(name: str, number: str, platform: str | None) -> str:
    return f"Gem was already pushed: {title(name, number, platform)}"


REPUSH_CONFLICT = (
    "Repushing of gem versions is not allowed.\n"
    "Please bump the version number and push a new different release.\n"
    "See also `gem yank` if you want to unpublish the bad release."
)


def yanked_exists(full_name: str) -> str:
    return (
        f"A yanked version already exists ({full_name}).\n"
        "Repushing of gem versions is not allowed. Please use a new version and retry"
    )


def cannot_process(detail: str) -> str:
    return (
        "packyard cannot process this gem.\n"
        "Please try rebuilding it and installing it locally to make sure it's valid.\n"
        f"Error:\n{detail}"
    )


ACCESS_DENIED = (
    "Access Denied. Send a packyard token as the API key: set GEM_HOST_API_KEY, "
    "or run `gem signin --host <this registry>` (tokens come from `packyard token create`)."
)


def access_denied(reason: str | None = None) -> str:
    return f"{ACCESS_DENIED}\n{reason}" if reason else ACCESS_DENIED


def push_not_owner(gem: str) -> str:
    return (
        f"You do not have permission to push to this gem. Ask an owner to add you with: "
        f"gem owner {gem} --add <user>"
    )


def case_change_refused(existing: str) -> str:
    """An owner pushed a gem whose name differs only in case from theirs: rubygems.org's first line; its
    advice (yank every version, then the name's case may change) does not apply, packyard never renames."""
    return (
        "Unable to change case of gem name with indexed versions\n"
        f"Push it as '{existing}': packyard never changes the letter case of a gem's name."
    )


KEY_SCOPE_FORBIDDEN = "This API key cannot perform the specified action on this gem."


def key_scope_forbidden(scope: str) -> str:
    return f"{KEY_SCOPE_FORBIDDEN} It needs the scope '{scope}'."


YANK_NOT_OWNER = "You do not have permission to delete this gem."
GEM_NOT_FOUND = "This gem could not be found"
RUBYGEM_NOT_FOUND = "This rubygem could not be found."


def version_not_found(number: str, platform: str | None) -> str:
    plat = f" ({platform})" if platform and platform != "ruby" else ""
    return f"The version {number}{plat} does not exist."


def yanked(name: str, number: str, platform: str | None) -> str:
    return f"Successfully deleted gem: {title(name, number, platform)}"


def already_yanked(name: str, number: str) -> str:
    return f"{name} {number} has already been deleted"


def unyanked(name: str, number: str, platform: str | None) -> str:
    return f"Successfully restored gem: {title(name, number, platform)}"


def not_yanked(name: str, number: str) -> str:
    return f"{name} {number} is not yanked"


def file_not_found(path: str) -> str:
    return f"File not found: {path}\n"
