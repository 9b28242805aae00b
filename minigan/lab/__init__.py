"""The lab: watch a 2-D GAN train in the browser, one update at a time.

    python -m minigan.lab                    # then open the address it prints
    python -m minigan.lab --data grid --port 8001

Read it in this order:

    settings.py   what the controls set, and the checks every value from the browser passes
    views.py      the layers of the plane (D's heat map, G's push on each sample, G's warped
                  latent grid, D's slope), each computed at once for all its points
    session.py    one game: the trainer's own D and G updates, what each moved, the history
    server.py     the local web server: one session, one update at a time, and the gate every
                  request passes (its own page only: Host, Origin, a token, JSON, bounded work)
    static/       the page (HTML, CSS and one plain JavaScript file, no build step)
    __main__.py   the command line

Training never imports this package.
"""
from .session import LabSession
from .settings import LabInputError, Settings

__all__ = ["LabSession", "LabInputError", "Settings"]
