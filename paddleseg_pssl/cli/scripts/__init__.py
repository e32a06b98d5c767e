"""Command lines as files for ``paddle.distributed.launch`` (which runs files, not modules),
inside the package so they work installed. Nothing else here: a script's folder comes first
on ``sys.path``."""
