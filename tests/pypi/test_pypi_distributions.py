"""Filename rules and core-metadata extraction from wheels and sdists."""

import io
import tarfile
import zipfile

import pytest
from packaging.version import Version

from packyard_pypi.distributions import InvalidDistribution, parse_filename, read_core_metadata
from tests.pypi.pypi_dists import build_sdist, build_wheel, core_metadata


def test_parse_wheel_and_sdist_filenames():
    wheel = parse_filename("Demo_Pkg-1.0-py3-none-any.whl")
    assert (wheel.packagetype, wheel.name, wheel.version) == ("bdist_wheel", "demo-pkg", Version("1.0"))
    sdist = parse_filename("demo_pkg-2.0rc1.tar.gz")
    assert (sdist.packagetype, sdist.name, sdist.version) == ("sdist", "demo-pkg", Version("2.0rc1"))


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("../evil-1.0.tar.gz", "'/' or '\\' in the name"),
        ("..\\evil-1.0.tar.gz", "'/' or '\\' in the name"),
        ("evil\x00-1.0.tar.gz", "non-printable"),
        ("demo-1.0.zip", "Invalid file extension"),
        ("demo-1.0.exe", "Invalid file extension"),
        ("demo-1.0.egg", "Invalid file extension"),
        ("demo-1.0.whl", "Invalid wheel filename"),
        ("demo-notaversion-py3-none-any.whl", "Invalid wheel filename"),
        ("demo.tar.gz", "Invalid source distribution filename"),
        ("demo-1.0-bad.tar.gz", "Invalid source distribution filename"),
    ],
)
def test_bad_filenames(filename, message):
    with pytest.raises(InvalidDistribution, match=None) as info:
        parse_filename(filename)
    assert message in str(info.value)


def test_wheel_metadata_is_returned_byte_for_byte(tmp_path):
    meta = core_metadata("demo-pkg", "1.0", requires_python=">=3.8", requires_dist=("other>=1",))
    path = build_wheel(tmp_path, "demo-pkg", "1.0", metadata=meta)
    result = read_core_metadata(path, parse_filename(path.name))
    assert result.raw_bytes == meta
    assert result.name == "demo-pkg" and result.version == Version("1.0")
    assert result.fields["requires_python"] == ">=3.8"
    assert result.fields["requires_dist"] == ["other>=1"]


def test_sdist_pkg_info(tmp_path):
    path = build_sdist(tmp_path, "demo-pkg", "1.0", requires_python=">=3.9")
    result = read_core_metadata(path, parse_filename(path.name))
    assert result.fields["requires_python"] == ">=3.9"
    assert result.raw_bytes.startswith(b"Metadata-Version: 2.1\n")


def test_wheel_without_metadata(tmp_path):
    path = build_wheel(tmp_path, "demo", "1.0", include_metadata=False)
    with pytest.raises(InvalidDistribution, match="does not contain the required METADATA file: demo-1.0.dist-info/METADATA"):
        read_core_metadata(path, parse_filename(path.name))


def test_truncated_wheel(tmp_path):
    path = build_wheel(tmp_path, "demo", "1.0")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidDistribution, match="not a readable zip archive"):
        read_core_metadata(path, parse_filename(path.name))


def test_truncated_sdist(tmp_path):
    path = build_sdist(tmp_path, "demo", "1.0")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidDistribution, match="not a readable .tar.gz archive"):
        read_core_metadata(path, parse_filename(path.name))


def test_sdist_without_pkg_info(tmp_path):
    path = tmp_path / "demo-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("demo-1.0/setup.py")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"#x\n"))
    with pytest.raises(InvalidDistribution, match="required PKG-INFO file: demo-1.0/PKG-INFO"):
        read_core_metadata(path, parse_filename(path.name))


@pytest.mark.parametrize("member", ["../escape.py", "/etc/passwd", "demo/../../x"])
def test_archive_members_with_unsafe_paths(tmp_path, member):
    path = build_wheel(tmp_path, "demo", "1.0")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(member, b"x")
    with pytest.raises(InvalidDistribution, match="unsafe path"):
        read_core_metadata(path, parse_filename(path.name))
    sdist = build_sdist(tmp_path, "demo", "1.0")
    with tarfile.open(sdist, "r:gz") as source:
        members = [(m, source.extractfile(m).read()) for m in source.getmembers()]
    with tarfile.open(sdist, "w:gz") as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo(member)
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(InvalidDistribution, match="unsafe path"):
        read_core_metadata(sdist, parse_filename(sdist.name))


def test_metadata_with_bad_version_or_metadata_version(tmp_path):
    path = build_wheel(tmp_path, "demo", "1.0", metadata=b"Metadata-Version: 2.1\nName: demo\nVersion: one\n\n")
    with pytest.raises(InvalidDistribution, match="invalid Version 'one'"):
        read_core_metadata(path, parse_filename(path.name))
    path = build_wheel(tmp_path, "demo", "1.1", metadata=b"Metadata-Version: 2.0\nName: demo\nVersion: 1.1\n\n")
    with pytest.raises(InvalidDistribution, match="Metadata-Version '2.0'"):
        read_core_metadata(path, parse_filename(path.name))


def test_wheel_for_another_project(tmp_path):
    path = build_wheel(tmp_path, "other", "1.0", filename="demo-1.0-py3-none-any.whl")
    with pytest.raises(InvalidDistribution, match="dist-info"):
        read_core_metadata(path, parse_filename(path.name))
