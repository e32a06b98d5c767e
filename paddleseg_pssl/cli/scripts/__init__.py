"""Script files of command lines that other processes start by path.

``paddle.distributed.launch`` runs a ``.py`` file, not a module; these files live in the
package (not in the checkout's ``tools/``), so the commands that start them work installed.
This folder holds nothing else: a script's folder comes first on ``sys.path``.
"""
