"""One router per resource; :func:`api.app.create_app` includes every module here that exposes ``router``.

A new resource is a new module (e.g. ``verify.py``) with an ``APIRouter`` named
``router``; nothing else needs to change.
"""
