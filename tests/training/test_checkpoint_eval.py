"""evaluate_checkpoint: the numbers of a saved checkpoint, through the one strict loader."""
import paddle
import pytest

from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.training.checkpoint_eval import evaluate_checkpoint
from tests.training.config_fixtures import TINY


def test_weights_of_another_model_are_an_error_naming_the_file(in_repo, tmp_path):
    weights = tmp_path / "other_model.pdparams"
    paddle.save({"stem.weight": paddle.zeros([1])}, str(weights))
    with pytest.raises(PSSLConfigError, match=r"other_model\.pdparams' do not fit"):
        evaluate_checkpoint(str(TINY), str(weights))
