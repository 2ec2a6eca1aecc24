# SPDX-License-Identifier: GPL-3.0-or-later
"""The sign-in form: a user name and a password, and what went wrong last time.

On the embedded platform the demo accounts share this installation's password, which the
window holds and never shows: the form then asks only which account, from a list.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)


class SignInDialog(QDialog):
    """Ask for an account; ``user`` and ``password`` hold the answer once accepted.

    Args:
        platform: the platform as the user knows it ("this computer", or its URL).
        error: the sentence from the last attempt, shown above the form ("" for none).
        accounts: with the installation's password known, the accounts to choose from (no
            password field); None asks for a user name and password.
        user: the user name to start with.
    """

    def __init__(
        self,
        parent: QWidget | None,
        platform: str,
        *,
        error: str = "",
        accounts: list[str] | None = None,
        user: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in")
        self.setMinimumWidth(380)
        layout = QVBoxLayout(self)
        heading = QLabel(f"Sign in to <b>{platform}</b>")
        layout.addWidget(heading)
        self.error = QLabel(error)
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setVisible(bool(error))
        layout.addWidget(self.error)
        form = QFormLayout()
        self.account_choice: QComboBox | None = None
        self.user_field = QLineEdit(user)
        self.password_field = QLineEdit()
        self.password_field.setEchoMode(QLineEdit.EchoMode.Password)
        if accounts is not None:
            self.account_choice = QComboBox()
            self.account_choice.addItems(accounts)
            if user in accounts:
                self.account_choice.setCurrentText(user)
            form.addRow("Account", self.account_choice)
            note = QLabel("The demo accounts on this computer sign in with its own password.")
            note.setObjectName("dim")
            note.setWordWrap(True)
            form.addRow(note)
        else:
            self.user_field.setPlaceholderText("user name")
            form.addRow("User name", self.user_field)
            form.addRow("Password", self.password_field)
        layout.addLayout(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Sign in")
        ok.setObjectName("primary")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        if self.account_choice is None:
            (self.password_field if user else self.user_field).setFocus()

    @property
    def user(self) -> str:
        if self.account_choice is not None:
            return self.account_choice.currentText()
        return self.user_field.text().strip()

    @property
    def password(self) -> str:
        return self.password_field.text()

    def _accept(self) -> None:
        if not self.user or (self.account_choice is None and not self.password):
            self.error.setText("Enter a user name and a password.")
            self.error.setVisible(True)
            return
        self.accept()
