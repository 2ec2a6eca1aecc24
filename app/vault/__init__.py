# SPDX-License-Identifier: GPL-3.0-or-later
"""The vault: the secret store, this device's keys, the encrypted stem and licence caches,
decryption of stems into memory only, and hardening of the studio process. Nothing here
writes plaintext audio anywhere. (Licences are verified by ``app.core.licence`` against the
keys the studio pinned.)
"""
