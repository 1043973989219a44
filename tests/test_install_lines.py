"""The install check of `.ci/install_lines.py`: which lines it reads, and that it reports a line that fails.

The check itself (every documented line resolves against the package index) runs in `.ci/run`; these
tests need no index."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("install_lines", ROOT / ".ci" / "install_lines.py")
install_lines = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install_lines)


def test_it_reads_every_install_command_in_code_blocks_only():
    text = "\n".join([
        "Install with `pip install nothing-inline` (prose: not a command).",
        "```bash",
        'pip install -e ".[hf]" && vgpo-eval demo',
        "python -m pip install -e . ; echo done  # a comment with pip install in it",
        "accelerate launch x \\",
        "    --flag   # not an install",
        "pip install a \\",
        "    b",
        "```",
        "pip install outside-a-block",
    ])  # fmt: skip
    assert install_lines.install_lines(text) == ['pip install -e ".[hf]"', "python -m pip install -e .",
                                                 "pip install a b"]  # fmt: skip


def test_the_readme_documents_the_evaluation_test_and_training_installs():
    lines = install_lines.install_lines((ROOT / "README.md").read_text(encoding="utf-8"))
    assert lines[:2] == ['pip install -e ".[hf]"', 'pip install -e ".[dev]"']  # the two set-up paths
    for extra in ("train", "train-vllm", "vllm"):
        assert f'pip install -e ".[{extra}]"' in lines, lines
    extras = pytest.importorskip("tomllib").loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for line in lines:  # every extra a line names exists
        for name in line.split("[")[-1].split("]")[0].split(",") if "[" in line else []:
            assert name in extras, line


def test_a_line_that_cannot_resolve_is_reported_with_pips_reason(tmp_path, capsys):
    """Offline: an empty local index cannot satisfy the pin, so pip fails; the check says so and exits 1."""
    readme = tmp_path / "README.md"
    readme.write_text(
        f"```bash\npip install --no-index --find-links {tmp_path} vgpo-no-such-package==1.0\n```\n"
    )
    code = install_lines.main([str(readme)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "DOES NOT RESOLVE: pip install --no-index" in out and "vgpo-no-such-package" in out, out
    assert "0 of 1 install lines resolve" in out


def test_a_line_that_resolves_prints_the_versions_it_picked(tmp_path, capsys):
    """Offline: a local package with no dependencies resolves; the check names it and exits 0."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "pyproject.toml").write_text('[project]\nname = "vgpo-probe"\nversion = "0.1"\ndependencies = []\n'
                                            '[build-system]\nrequires = []\nbuild-backend = "setuptools.build_meta"\n')  # fmt: skip
    readme = tmp_path / "README.md"
    readme.write_text(f"```bash\npip install --no-index --no-build-isolation {package}\n```\n")
    assert install_lines.main([str(readme)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"resolved: pip install --no-index --no-build-isolation {package}"), out
