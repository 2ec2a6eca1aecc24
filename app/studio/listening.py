# SPDX-License-Identifier: GPL-3.0-or-later
"""Listening to a remix in the app: its encrypted audio decrypted and decoded as it plays
(never written to disk), through the engine's own output path (the mixer and the ``Player``,
with the user's audio buffer setting), under a listen licence the listening renews as it goes.

The remix is one stereo source, the mix, on a one-stem track of its own; the volume is the
master gain. While it plays, a keeper thread counts the seconds actually heard (seeks and pauses
do not count) and reports the play once, signed, when it passes the threshold; and renews the
licence every ``renew_every_s``: a refused renewal (the remix was taken down, its track
withdrawn) stops playback at once, with the platform's reason.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from app.core.errors import FanfareError
from app.core.listen_licence import ListenLicence
from app.core.play_report import counts_after_s
from app.core.recipe import Recipe
from app.core.track import StemInfo, TrackInfo
from app.engine.mixer import Mixer
from app.engine.output import Buffering, Player, TransportState
from app.platform_client.errors import PlatformError, PlatformUnreachableError
from app.studio.errors import ListeningEndedError
from app.studio.status import LicenceNotice, Notice, PlaybackStopped

VOLUME_RANGE_DB = (-60.0, 6.0)
#: How often the keeper looks at the playhead, in seconds.
TICK_S = 0.25
#: A playhead move longer than this between ticks is a seek, not listening (seconds).
MAX_STEP_S = 1.0


class Listening:
    """One remix, ready to play.

    Args:
        doc: the platform's document of the derivative (id, title, by, duration...).
        source: its decoded audio, float32 (frames, 2) or a chunked source of it, at
            ``sample_rate`` Hz.
        licence: the listen licence it plays under (its expiry stops playback).
        renew: fetches a fresh listen licence (raises PlatformError when refused).
        report: reports a play: (seconds heard, Unix time listening started) → whether the
            platform counted it (raises PlatformError when it cannot be sent).
        renew_every_s: how often the licence is renewed while the listening is open.
        resources: closed with the listening (the cached blob it reads).
        device: the output device (None: the system's default).
        buffering: the user's audio buffer setting.
    """

    def __init__(
        self,
        doc: dict[str, Any],
        source: Any,
        sample_rate: int,
        *,
        licence: ListenLicence,
        renew: Callable[[], ListenLicence],
        report: Callable[[float, int], bool],
        renew_every_s: float,
        resources: tuple[Any, ...] = (),
        device: str | int | None,
        buffering: Buffering,
    ) -> None:
        self.doc = doc
        self.licence = licence
        self._renew, self._report = renew, report
        self.renew_every_s = renew_every_s
        self._resources = list(resources)
        frames = len(source)
        self.info = TrackInfo(
            id=str(doc["id"]), version=1, title=str(doc["title"]), artist=str(doc["by"]),
            bpm=0.0, key="", time_signature="", sample_rate=sample_rate,
            frames=frames, stems=(StemInfo("mix"),),
        )  # fmt: skip
        self._recipe = Recipe.default_for(self.info)
        self.mixer = Mixer({"mix": source}, sample_rate, self._recipe, track=self.info)
        self.player = Player(
            self.mixer,
            device=device,
            buffering=buffering,
            deadline=lambda: float(self.licence.expires_at),
            on_stopped=self._stopped,
        )
        #: Seconds heard so far (seeks and pauses do not count), and whether the play counted.
        self.listened_s = 0.0
        self.counted: bool | None = None
        self._started_at = int(time.time())
        self._reported = False
        self._ended: str | None = None  # the platform's reason, once it stops the listening
        self._transport = threading.Lock()  # play() against the platform's refusal
        self._notices: list[Notice] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name="fanfare-listen", daemon=True)
        self._keeper.start()

    @property
    def duration_s(self) -> float:
        return self.info.duration_s

    @property
    def position_s(self) -> float:
        return self.player.position_s

    @property
    def playing(self) -> bool:
        return self.player.state is TransportState.PLAYING

    def play(self) -> None:
        """Start (raises OutputUnavailableError, with its sentence, without a device; and
        LicenceExpiredError once the licence has run out, ListeningEndedError once the platform
        stopped this remix)."""
        if self.licence.expires_at - time.time() < self.renew_every_s:
            self._renew_licence()  # after a long pause: a fresh licence before playing on
        with self._transport:  # a refusal arriving now either comes first or waits for this
            if self._ended is not None:
                raise ListeningEndedError(self._ended)
            self.licence.check_time(time.time())
            self.player.play()

    def pause(self) -> None:
        self.player.pause()

    def seek(self, seconds: float) -> None:
        self.player.seek(int(max(0.0, min(seconds, self.duration_s)) * self.info.sample_rate))

    def set_volume(self, db: float) -> None:
        """The listening volume in dB (clamped to ``VOLUME_RANGE_DB``)."""
        low, high = VOLUME_RANGE_DB
        self._recipe = self._recipe.with_master(gain_db=max(low, min(high, float(db))))
        self.mixer.set_recipe(self._recipe)

    def take_notices(self) -> list[Notice]:
        """What the listener should hear of since the last call: playback stopped and why."""
        with self._lock:
            notices, self._notices = self._notices, []
        return notices

    def _tell(self, notice: Notice) -> None:
        with self._lock:
            self._notices.append(notice)

    def _stopped(self, reason: str) -> None:
        self._tell(PlaybackStopped(text=reason))

    def _keep(self) -> None:
        """Count what is heard, report the play once, renew the licence; never raise."""
        last = self.player.position_s
        renew_at = time.monotonic() + self.renew_every_s
        # Renewed only while it plays (a paused remix asks the platform nothing; play()
        # renews first when the licence is near its end).
        while not self._closed.wait(TICK_S):
            try:
                now = self.player.position_s
                step = now - last
                if self.playing and 0.0 < step <= MAX_STEP_S:
                    self.listened_s += step
                last = now
                if not self._reported and self.listened_s >= counts_after_s(self.duration_s):
                    self._send_report()
                if self.playing and time.monotonic() >= renew_at:
                    renew_at = time.monotonic() + self.renew_every_s
                    self._renew_licence()
            except Exception as exc:  # the listening was closed under us, or worse: never crash
                if not self._closed.is_set():
                    self._tell(LicenceNotice(text=f"Listening ran into a problem: {exc}"))
                return

    def _send_report(self) -> None:
        try:
            self.counted = self._report(self.listened_s, self._started_at)
            self._reported = True
        except PlatformUnreachableError:
            pass  # tried again at the next tick
        except PlatformError:
            self._reported = True  # refused: sending it again would not help

    def _renew_licence(self) -> None:
        try:
            self.licence = self._renew()
        except PlatformUnreachableError:
            pass  # it plays on until the licence runs out; the player stops it then
        except PlatformError as exc:
            if exc.status in (403, 404, 410):
                self._end(str(exc))
        except FanfareError as exc:  # the session ended, the device was revoked, a bad licence
            self._end(str(exc))

    def _end(self, reason: str) -> None:
        """The platform no longer lets this remix be heard here: stop, and say why."""
        with self._transport:
            self._ended = reason
            self.pause()
        self._stopped(f"Playback stopped: {reason}")

    def close(self) -> None:
        self._closed.set()
        if self._keeper is not threading.current_thread():
            self._keeper.join(timeout=5)
        self.player.close()
        self.mixer.close()
        for resource in self._resources:
            resource.close()
