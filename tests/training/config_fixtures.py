"""Fixture configs and helpers shared by the config loading and checking tests."""
import pathlib
import textwrap

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURE_CONFIGS = REPO_ROOT / "tests" / "fixtures" / "configs"
TINY_BASE = FIXTURE_CONFIGS / "_base_" / "tiny_dataset.yml"
#: The smallest complete fixture config (the dataset base plus BiSeNetV2).
TINY = FIXTURE_CONFIGS / "bisenetv2_tiny.yml"
FIXTURE_FILES = [FIXTURE_CONFIGS / f"{name}_tiny.yml" for name in (
    "bisenetv2", "pspnet_resnet50_vd", "deeplabv3_resnet50_vd", "ocrnet_hrnetw18")]


def write_config(tmp_path: pathlib.Path, body: str, name: str = "config.yml",
                 base: pathlib.Path = FIXTURE_CONFIGS / "pspnet_resnet50_vd_tiny.yml"
                 ) -> pathlib.Path:
    """A config in tmp_path inheriting ``base`` (absolute) with ``body`` on top."""
    path = tmp_path / name
    path.write_text(f"_base_: {base}\n" + textwrap.dedent(body), encoding="utf-8")
    return path


def one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message
    return message

