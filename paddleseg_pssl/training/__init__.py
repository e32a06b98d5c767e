"""Training glue over PaddleSeg's stock ``core.train``: config loading and checks, the
label-space builder, schedules, checkpoints and the initialisation comparison."""
