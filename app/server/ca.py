# SPDX-License-Identifier: GPL-3.0-or-later
"""The platform's device CA: an Ed25519 certificate authority that certifies enrolled devices.

A device certificate binds the device's Ed25519 key to its device id and account. It is what a
device signs its remixes' Content Credentials under (C2PA needs an X.509 chain), with the
extensions C2PA validators expect: KeyUsage digitalSignature, ExtendedKeyUsage emailProtection,
and the authority/subject key identifiers. The same CA certifies the platform's publisher key,
which countersigns every published remix.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.credentials import PUBLISHER_NAME
from app.core.encoding import b64u
from app.core.keys import key_id
from app.core.security_level import SecurityLevel, level_extension
from app.server.db import PlatformKey
from app.server.vaultkeys import unwrap, wrap

CA_VALIDITY = dt.timedelta(days=3650)
DEVICE_VALIDITY = dt.timedelta(days=365)
PUBLISHER_VALIDITY = dt.timedelta(days=3650)


def _name(common_name: str, unit: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fanfare platform")]
    if unit:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(parts)


class DeviceCA:
    """Issues device certificates; its private key is wrapped under the master key."""

    def __init__(self, private: Ed25519PrivateKey, certificate: x509.Certificate) -> None:
        self.private = private
        self.certificate = certificate

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @classmethod
    def load_or_create(cls, session: Session, master_key: bytes) -> DeviceCA:
        row = session.scalar(
            select(PlatformKey).where(PlatformKey.purpose == "device-ca", PlatformKey.active)
        )
        if row is None:
            private = Ed25519PrivateKey.generate()
            certificate = _self_signed(private)
            kid = "ca:" + key_id(private.public_key()).split(":", 1)[1]
            row = PlatformKey(
                kid=kid,
                purpose="device-ca",
                public_key=b64u(private.public_key().public_bytes_raw()),
                wrapped_private=wrap(master_key, private.private_bytes_raw(), f"device-ca|{kid}"),
                certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
                active=True,
            )
            session.add(row)
            session.commit()
        private = Ed25519PrivateKey.from_private_bytes(
            unwrap(master_key, row.wrapped_private, f"device-ca|{row.kid}")
        )
        return cls(private, x509.load_pem_x509_certificate(row.certificate_pem.encode()))

    def publisher(self, session: Session, master_key: bytes) -> Publisher:
        """The platform's publisher key and certificate (made and kept on first use): what it
        signs its own manifest in every published remix with."""
        row = session.scalar(
            select(PlatformKey).where(PlatformKey.purpose == "publisher", PlatformKey.active)
        )
        if row is None:
            private = Ed25519PrivateKey.generate()
            kid = "pub:" + key_id(private.public_key()).split(":", 1)[1]
            row = PlatformKey(
                kid=kid,
                purpose="publisher",
                public_key=b64u(private.public_key().public_bytes_raw()),
                wrapped_private=wrap(master_key, private.private_bytes_raw(), f"publisher|{kid}"),
                certificate_pem=self._leaf(
                    _name(PUBLISHER_NAME, "publisher"), private.public_key(), PUBLISHER_VALIDITY
                ),
                active=True,
            )
            session.add(row)
            session.commit()
        private = Ed25519PrivateKey.from_private_bytes(
            unwrap(master_key, row.wrapped_private, f"publisher|{row.kid}")
        )
        return Publisher(private, row.certificate_pem)

    def issue(
        self,
        device_id: str,
        user_name: str,
        public: Ed25519PublicKey,
        level: SecurityLevel = SecurityLevel.FILE,
    ) -> str:
        """A PEM device certificate for ``public``, valid for a year, stating its ``level``."""
        return self._leaf(_name(device_id, f"user {user_name}"), public, DEVICE_VALIDITY, level)

    def _leaf(
        self,
        subject: x509.Name,
        public: Ed25519PublicKey,
        validity: dt.timedelta,
        level: SecurityLevel | None = None,
    ) -> str:
        """A PEM signing certificate (content signing EKUs C2PA accepts) under this CA."""
        now = dt.datetime.now(dt.UTC)
        ca_public = self.private.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + validity)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signing=True), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False
            )
        )
        if level is not None:
            builder = builder.add_extension(level_extension(level), critical=False)
        certificate = builder.sign(self.private, None)
        return certificate.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True)
class Publisher:
    """The key and certificate the platform signs its publisher manifests with."""

    private: Ed25519PrivateKey
    certificate_pem: str

    @property
    def serial(self) -> int:
        return x509.load_pem_x509_certificate(self.certificate_pem.encode()).serial_number


def _key_usage(*, signing: bool) -> x509.KeyUsage:
    """A device signs content (digitalSignature); the CA signs certificates and CRLs only."""
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signing,
        crl_sign=not signing,
        encipher_only=False,
        decipher_only=False,
    )


def _self_signed(private: Ed25519PrivateKey) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    public = private.public_key()
    name = _name("Fanfare device CA")
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signing=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(private, None)
    )
