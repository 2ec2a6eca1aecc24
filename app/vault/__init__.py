# SPDX-License-Identifier: GPL-3.0-or-later
"""The vault: this device's keys, licence checks against pinned platform keys, and decryption
of stems into memory only. Nothing here writes plaintext audio anywhere.
"""
