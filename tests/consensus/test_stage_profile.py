"""The per-stage profile reports ms per image and share of wall time for every stage."""
import pytest

from paddleseg_pssl.consensus.run.stage_profile import STAGES, StageProfile, format_report


def test_report_gives_every_stage_per_image_and_as_a_share_of_wall_time():
    profile = StageProfile()
    profile.add("explain", 3.0)
    profile.add("write", 0.5)
    report = profile.report(images=2, wall_s=4.0)
    assert list(report) == list(STAGES)
    assert report["explain"] == {"ms_per_image": 1500.0, "share_of_wall": 0.75}
    assert report["decode"]["ms_per_image"] == 0
    assert len(format_report(report)) == len(STAGES) + 1


def test_unknown_stage_is_refused():
    with pytest.raises(ValueError, match="unknown stage"):
        StageProfile().add("decoding", 1.0)
