# SPDX-License-Identifier: GPL-3.0-or-later
"""Spin on one core until killed: the "other core busy" of the soak and the latency figures."""

while True:
    pass
