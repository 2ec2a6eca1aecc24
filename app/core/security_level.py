# SPDX-License-Identifier: GPL-3.0-or-later
"""Device security levels: how well a device keeps its keys, as its certificate states.

A device says at enrolment where its keys live, the platform writes that into the device's
certificate, and an artist's policy can ask for a minimum: to play the track at all, and to
keep its licence for offline use. Weaker levels get shorter licences and a shorter offline
grace. The level is the client's own statement (no attestation exists yet), so it sorts
honest clients by what their machine offers; it does not stop a modified one from lying
(``docs/security.md``).
"""

from __future__ import annotations

from enum import IntEnum

from cryptography import x509

#: The device certificate's extension holding the level (a UTF8String, non-critical). An OID
#: under 2.25, a UUID as an arc (ITU-T X.667), needs no registration.
SECURITY_LEVEL_OID = x509.ObjectIdentifier("2.25.103837493286626214033854840710902694493")


class SecurityLevel(IntEnum):
    """Ordered: a higher level keeps keys better."""

    FILE = 1  # an encrypted file in the user's profile (no OS keyring on this machine)
    KEYRING = 2  # the OS keyring (Secret Service, Keychain, Credential Locker)
    HARDWARE = 3  # a hardware-backed key store; needs attestation, which is not issued yet

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def place(self) -> str:
        """Where a device of this level keeps its keys, for messages ("in a file")."""
        return _PLACES[self]

    @classmethod
    def parse(cls, name: object) -> SecurityLevel:
        """``"file"``, ``"keyring"`` or ``"hardware"``; raises ValueError naming the choices."""
        for level in cls:
            if name == level.label:
                return level
        choices = ", ".join(level.label for level in cls)
        raise ValueError(f"a security level is one of {choices}, got {name!r}")


_PLACES = {
    SecurityLevel.FILE: "in a file",
    SecurityLevel.KEYRING: "in the system keyring",
    SecurityLevel.HARDWARE: "in hardware",
}


def refusal(needed: SecurityLevel, have: SecurityLevel, what: str) -> str:
    """The sentence for a device below a policy's minimum: ``what`` the artist allows."""
    return (
        f"The artist allows {what} only on devices that keep their keys {needed.place} (or "
        f"safer); this device keeps them {have.place}."
    )


def level_extension(level: SecurityLevel) -> x509.UnrecognizedExtension:
    """The certificate extension stating ``level``: its name as a DER UTF8String."""
    name = level.label.encode()
    return x509.UnrecognizedExtension(SECURITY_LEVEL_OID, bytes([0x0C, len(name)]) + name)


def certificate_security_level(certificate_pem: str) -> SecurityLevel:
    """The level a device certificate states; a certificate without one is ``FILE`` (made
    before levels existed: the weakest is the only safe reading). Raises ValueError for a
    malformed certificate or level."""
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    try:
        value = certificate.extensions.get_extension_for_oid(SECURITY_LEVEL_OID).value
    except x509.ExtensionNotFound:
        return SecurityLevel.FILE
    der = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
    if len(der) < 2 or der[0] != 0x0C or der[1] != len(der) - 2:
        raise ValueError("the certificate's security level is malformed")
    return SecurityLevel.parse(der[2:].decode("utf-8", "replace"))
