"""Table 2 in miniature: points, their sizes and lengths, and the table rows."""
from paddleseg_pssl.training import study
from paddleseg_pssl.training.comparison import InitSummary


def _summary(init, mean, lr):
    return InitSummary(init=init, runs=3, miou_mean=mean, miou_std=0.01,
                       miou_per_seed=[mean - 0.01, mean, mean + 0.01], learning_rate=lr)


def test_a_point_counts_its_images_and_epochs():
    point = study.PretrainPoint("pssl", 0.25, 1875)
    assert point.images(1500) == 375
    assert point.epochs(1500, batch_size=16) == 80.0
    assert point.name == "pssl_f0.25_i1875"


def test_a_point_is_found_again_from_its_folder_name_with_its_label_rule():
    for point in (study.PretrainPoint("pssl", 0.25, 1875),
                  study.PretrainPoint("oracle", 1.0, 500, "below_d9_ignored")):
        assert study.PretrainPoint.from_name(point.name) == point
    assert study.PretrainPoint("pssl", 1.0, 500, "bg0.01").name == "pssl_f1_i500_rbg0.01"


def test_every_label_rule_but_the_configs_changes_the_pre_training():
    assert study.RULES[study.RULE_PAPER] == ()
    assert all(study.RULES[name] for name in study.RULES if name != study.RULE_PAPER)
    assert study.RULES["below_d9_ignored"] == (
        "train_dataset.ignore_deciles=[0, 1, 2, 3, 4, 5, 6, 7, 8]",)


def test_equal_epochs_give_iterations_in_proportion_to_the_images():
    assert study.iters_for_epochs(20, 1.0, 1500, 16) == 1875
    assert study.iters_for_epochs(20, 0.1, 1500, 16) == 188


def test_rows_show_each_point_against_the_conventional_init():
    rows = [study.StudyRow(study.PretrainPoint("oracle", 1.0, 1875), _summary("pssl", 0.21, 0.1)),
            study.StudyRow(study.PretrainPoint("pssl", 0.5, 1875), _summary("pssl", 0.18, 0.2))]
    table = study.markdown(rows, _summary("backbone", 0.165, 0.1), total=1500, batch_size=16)
    assert "| nothing: conventional init | - | - | - | 0.1 | 16.5 +- 1.0 |" in table
    assert "| oracle labels | 1500 | 1875 | 20.0 | 0.1 | 21.0 +- 1.0 | 20.0, 21.0, 22.0 | +4.5 |" \
        in table
    assert "| pssl labels | 750 | 1875 | 40.0 | 0.2 | 18.0 +- 1.0 |" in table


def test_label_rule_rows_follow_the_size_and_length_rows_and_name_their_rule():
    rows = [study.StudyRow(study.PretrainPoint("pssl", 1.0, 1875, "bg1"), _summary("pssl", 0.17, 0.1)),
            study.StudyRow(study.PretrainPoint("pssl", 1.0, 1875), _summary("pssl", 0.19, 0.1))]
    table = study.markdown(rows, _summary("backbone", 0.165, 0.1), total=1500, batch_size=16)
    lines = table.splitlines()
    assert lines[3].startswith("| pssl labels | 1500 |")
    assert lines[4].startswith("| pssl labels, bg1 | 1500 | 1875 |")


def test_the_plot_is_written(tmp_path):
    rows = [study.StudyRow(study.PretrainPoint("pssl", f, 100), _summary("pssl", 0.1 + f, 0.1))
            for f in (0.5, 1.0)]
    path = study.plot(rows, _summary("backbone", 0.2, 0.1), 100, 10, str(tmp_path / "s.png"))
    assert (tmp_path / "s.png").stat().st_size > 0 and path.endswith("s.png")


def test_the_plot_draws_size_lines_at_equal_iterations_and_equal_epochs_and_length_lines():
    points = [study.PretrainPoint("pssl", 0.1, 188), study.PretrainPoint("pssl", 1.0, 1875),
              study.PretrainPoint("pssl", 0.1, 1875)]
    rows = [study.StudyRow(p, _summary("pssl", 0.2, 0.1)) for p in points]
    curves = study._curves(rows, total=1500, batch_size=16)
    assert [x for x, _ in curves["size"]["pssl labels, 20 epochs"]] == [150, 1500]
    assert [x for x, _ in curves["size"]["pssl labels, 1875 iterations"]] == [150, 1500]
    assert [x for x, _ in curves["length"]["pssl labels, 10% of the images"]] == [188, 1875]
    assert "pssl labels, 100% of the images" not in curves["length"]  # one point: no line
