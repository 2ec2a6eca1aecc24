# SPDX-License-Identifier: GPL-3.0-or-later
"""One router per resource, gathered in :data:`api_router`, which the app mounts under
``/api/v1``."""

from fastapi import APIRouter

from app.server.routes import (
    auth,
    catalog,
    derivatives,
    devices,
    drafts,
    garden,
    licences,
    models,
    moderation,
    uploads,
    warming,
)

api_router = APIRouter()
# In the order the app has always mounted them: it is the order of the OpenAPI document.
for _module in (
    auth, devices, catalog, licences, derivatives, models, uploads, garden, moderation, warming,
    drafts,
):  # fmt: skip
    api_router.include_router(_module.router)
