"""Training glue over PaddleSeg's stock engine: config loading and checking, the label-space
builder, schedules, checkpoint weights and evaluation, and the initialisation comparison.

PSSL (arXiv 2207.03335) pre-trains and fine-tunes with PaddleSeg's own ``core.train``; the
modules here prepare what that engine is given and read back what it wrote.
"""
