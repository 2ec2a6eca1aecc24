# SPDX-License-Identifier: GPL-3.0-or-later
"""A whole platform on one machine, for trying and testing: PostgreSQL, an S3 object store
(SeaweedFS), API workers and job workers on loopback (``scripts/platform-stack up|down``)."""
