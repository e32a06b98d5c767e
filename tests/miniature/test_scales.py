"""The demo's scales: every one trains the classifier whose trunk initialises the segmentation
backbone, and explains with at least two models (a consensus)."""
import pytest

from paddleseg_pssl.miniature.classifiers import BACKBONE_MEMBER, DEFAULT_EPOCHS, DEFAULT_MEMBERS
from paddleseg_pssl.miniature.scales import SCALES


@pytest.mark.parametrize("name", sorted(SCALES))
def test_every_scale_trains_the_backbone_member_and_an_ensemble(name):
    members = [m["name"] for m in DEFAULT_MEMBERS[:SCALES[name].ensemble_members]]
    assert BACKBONE_MEMBER in members
    assert len(members) >= 2


def test_make_demo_searches_rates_per_init_over_three_seeds():
    full = SCALES["full"]
    assert len(full.finetune_lrs) >= 2 and len(full.seeds) >= 3


def test_the_study_world_keeps_the_settings_its_tables_were_measured_with():
    study = SCALES["study"]
    assert (study.ensemble_members, study.n_samples, study.pretrain_iters) == (3, 5, 1875)
    assert (study.classifier_epochs or DEFAULT_EPOCHS, study.finetune_iters) == (12, 120)
    assert study.pretrain_processes == 1
    assert study.finetune_lrs == (0.2, 0.1, 0.05)
