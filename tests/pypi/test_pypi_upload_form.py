"""Validation of the legacy upload form fields, with Warehouse's texts."""

import pytest
from packaging.version import Version

from packyard_pypi.upload.form import UploadError, check_action, parse_upload_form

SHA = "ab" * 32


def _fields(**overrides):
    fields = {
        ":action": ["file_upload"],
        "protocol_version": ["1"],
        "name": ["Demo.Pkg"],
        "version": ["1.0"],
        "metadata_version": ["2.1"],
        "filetype": ["bdist_wheel"],
        "pyversion": ["py3"],
        "sha256_digest": [SHA],
        "summary": ["A demo"],
        "requires_python": [">=3.8"],
        "requires_dist": ["other>=1", "third; extra == 'x'"],
        "keywords": ["a, b"],
        "project_urls": ["Source, https://example.invalid/src"],
    }
    for key, value in overrides.items():
        key = key.replace("__", ":")
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value if isinstance(value, list) else [value]
    return fields


def test_valid_twine_form():
    form = parse_upload_form(_fields())
    assert form.name == "Demo.Pkg" and form.version == Version("1.0")
    assert form.sha256_digest == SHA and form.md5_digest is None
    assert form.metadata["requires_dist"] == ["other>=1", "third; extra == 'x'"]
    assert form.metadata["keywords"] == ["a", "b"]
    assert form.metadata["project_urls"] == {"Source": "https://example.invalid/src"}


def test_sdist_pyversion_defaults_to_source():
    assert parse_upload_form(_fields(filetype="sdist", pyversion=None)).pyversion == "source"


@pytest.mark.parametrize(
    ("overrides", "status", "message"),
    [
        ({"__action": "submit"}, 410, "pre-registration"),
        ({"__action": "doc_upload"}, 410, "documentation"),
        ({"__action": "bogus"}, 400, "Unknown :action"),
        ({"protocol_version": "2"}, 400, "Unknown protocol version."),
    ],
)
def test_actions(overrides, status, message):
    with pytest.raises(UploadError) as info:
        check_action(_fields(**overrides))
    assert info.value.status == status and message in info.value.message


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "-bad-"}, "'-bad-' is an invalid value for Name. Error: Start and end with a letter or numeral"),
        ({"name": None}, "invalid value for Name"),
        ({"version": "one point oh"}, "'one point oh' is an invalid value for Version."),
        ({"version": "1.0+local"}, "The use of local versions in '1.0+local' is not allowed."),
        ({"metadata_version": "2.0"}, "'2.0' is not a valid metadata version"),
        ({"filetype": "bdist_egg"}, "Use a known file type"),
        ({"pyversion": None}, "Python version is required for binary distribution uploads."),
        ({"filetype": "sdist", "pyversion": "py3"}, "Use 'source' as Python version for an sdist."),
        ({"sha256_digest": None}, "Include at least one message digest."),
        ({"sha256_digest": "xyz"}, "Use a valid, hex-encoded, SHA256 message digest."),
        ({"md5_digest": "00"}, "Use a valid, hex-encoded, MD5 message digest."),
        ({"requires_python": "not a specifier"}, "requires-python"),
        ({"requires_dist": "bad requirement !!"}, "requires-dist"),
        ({"summary": ["one", "two"]}, "'summary' has invalid data"),
    ],
)
def test_invalid_forms(overrides, message):
    with pytest.raises(UploadError) as info:
        parse_upload_form(_fields(**overrides))
    assert info.value.status == 400
    assert message.lower() in info.value.message.lower()


def test_unknown_values_are_dropped():
    form = parse_upload_form(_fields(summary="UNKNOWN", md5_digest="UNKNOWN"))
    assert "summary" not in form.metadata and form.md5_digest is None
