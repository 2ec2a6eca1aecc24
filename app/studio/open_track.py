# SPDX-License-Identifier: GPL-3.0-or-later
"""A licensed track open in the studio: its stems (encoded sources decoded on demand), the
recipe, mixer, player, the licence kept fresh while it is open, and rendering and publishing the
derivative.

The window reads it through :meth:`OpenTrack.status` (once per meter tick),
:meth:`OpenTrack.take_notices` and the edit methods; it never reaches the mixer or the player.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from app import __version__
from app.core.automation import MASTER, make_move
from app.core.codec import encode_flac
from app.core.credentials import RemixFacts, edits_of, remix_manifest, sign_flac
from app.core.disclosure import claimed_levels
from app.core.errors import LicenceError, PolicyDenied, StyleModelError
from app.core.licence import Licence
from app.core.own_part import OwnPart
from app.core.policy import Decision, Policy, evaluate
from app.core.project import Project, new_project_id, retarget
from app.core.recipe import Recipe, styles_of
from app.core.style_slot import StyleSlot
from app.core.track import TrackInfo
from app.engine.chunk_store import ChunkStore, chunk_store_budget
from app.engine.company import CompanyMeter, heard_reasons
from app.engine.lanes import lanes as lay_out_lanes
from app.engine.mixer import Mixer, grid_up
from app.engine.offline import render, render_derivative
from app.engine.output import Buffering, Player, TransportState
from app.engine.parts import PlacedPart
from app.engine.peaks import StemPeaks, measure_array
from app.engine.stretched import StretchedSource
from app.engine.switching import sound_key
from app.platform_client.errors import PlatformError, PlatformUnreachableError
from app.studio.auditions import Audition, auditions
from app.studio.errors import PreviewNotPublishedError
from app.studio.overview import Lanes, TrackOverview
from app.studio.permissions import StylePermissions
from app.studio.publishing import (
    RENDERING,
    UPLOADING,
    VERIFYING,
    PublishEstimate,
    estimate,
    note_render,
)
from app.studio.recorder import Recorder
from app.studio.services import TrackServices
from app.studio.status import (
    LicenceNotice,
    Notice,
    PlaybackStatus,
    PlaybackStopped,
    StyleAdjusted,
)
from app.studio.style_library import ModelStems
from app.styles.package import StylePackage

#: ``progress(step, fraction)``: what is being done, and how far. Opening a track reports
#: the fraction of the whole; rendering and publishing report each step from 0 to 1
#: (``studio.publishing``).
Progress = Callable[[str, float], None]
UNDO_DEPTH = 200
UNDO_MERGE_S = 1.0
#: How Edit ▸ Undo names what a control changed (``apply``'s ``edit``).
_FIELD_NAMES = {
    "gain_db": "fader",
    "pan": "pan",
    "mute": "mute",
    "solo": "solo",
    "fx": "effects",
    "style": "style",
    "limiter_ceiling_db": "limiter",
    "sections": "arrangement",
    "fade_in_s": "fade in",
    "fade_out_s": "fade out",
}


def edit_name(edit: tuple[Any, ...] | None) -> str:
    """``("drums", "gain_db")`` → "Drums fader"; ``("tempo",)`` → "Tempo and key"."""
    if not edit:
        return "Change"
    head, *fields = (str(part) for part in edit)
    if head == "tempo":
        return "Tempo and key"
    if head == "automation":
        return "Clear recorded moves"
    if head == "arrangement":
        return "Arrangement" if "sections" in fields else "Fades"
    words = [_FIELD_NAMES.get(f, f.replace("_", " ")) for f in fields if f in _FIELD_NAMES]
    return f"{head.capitalize()} {' and '.join(dict.fromkeys(words)) or 'settings'}".strip()


HINT_POLL_S = 2.0  # how often the studio looks whether playback finished stretching a sound
log = logging.getLogger("fanfare.studio")


def quiet(_: str, __: float) -> None:
    """A progress callback that ignores progress."""


class OpenTrack:
    """A licensed track open in the studio: its stems, the recipe, mixer and player.

    ``mixer`` and ``player`` are the engine, for the studio itself, tests and benchmarks; the
    window uses this class's own methods (tests/ui/test_boundary.py holds it to that).

    Args:
        services: what it needs of the session that opened it (the :class:`Studio`).
        stems: each stem's source (an encoded stem decoded on demand), by kind.
        resources: closed with the track (the open cache files the sources read).
        sealed_digest: ``credentials.sealed_digest`` of the stem blobs opened.
    """

    def __init__(
        self,
        services: TrackServices,
        info: TrackInfo,
        licence: Licence,
        stems: dict[str, Any],
        *,
        offline: bool = False,
        resources: list[Any] | None = None,
        preview: bool = False,
        sealed_digest: str = "",
    ) -> None:
        self._services = services
        #: ``credentials.sealed_digest`` of the stems opened: the track version remixes name.
        self.sealed_digest = sealed_digest
        self._resources = resources or []  # closed with the track (the open cache files)
        self.info = info
        self.licence = licence
        self.offline = offline
        #: The artist's preview of a draft policy: everything a fan could do, but no publishing.
        self.preview = preview
        self.policy = Policy.from_dict(licence.policy)
        self.recipe = Recipe.default_for(info)
        self._stems = stems
        #: Retimed and transposed chunks made by playback, kept (compressed, in memory) for
        #: the render and for going back; dropped with the track.
        self.chunk_store = ChunkStore(chunk_store_budget(), info.sample_rate)
        self.mixer = self._mixer(self.recipe)
        self._told_adjustments: dict[str, str] = {}
        self._player: Player | None = None
        self._overview: TrackOverview | None = None  # made when the timeline first asks
        self._notices: list[Notice] = []
        self._notice_lock = threading.Lock()
        #: Each step back or forward: the recipe, and the name of the edit between it and the
        #: next (``edit_name``), for Edit ▸ Undo *name*.
        self._undo: list[tuple[Recipe, str]] = []
        self._redo: list[tuple[Recipe, str]] = []
        #: The project this remix is (``app.core.project``): its id stays through every save.
        self.project_id = new_project_id()
        #: The recipe as its project file last had it (modified: the recipe differs).
        self.saved_recipe = self.recipe
        self._last_edit: tuple[Any, ...] | None = None
        self._last_edit_at = 0.0
        #: Record moves: while playing, strip edits become automation at the block they are
        #: heard, so a render plays them back where they were made.
        self.recording = False
        #: Recording takes over the track and using them as parts of the remix.
        self.recorder = Recorder(self, services.takes)
        self._parts_peaks: dict[OwnPart, StemPeaks] = {}  # each part's envelope, as placed
        self._closed = threading.Event()
        self._keeper = threading.Thread(
            target=self._keep_licence, name="fanfare-licence", daemon=True
        )
        self._keeper.start()
        #: Sounds (``switching.sound_key``) the platform was told of, to stretch ahead.
        self._hinted: set[tuple[Any, ...]] = set()
        self._hinter = threading.Thread(
            target=self._hint_platform, name="fanfare-warm-hint", daemon=True
        )
        self._hinter.start()

    # --- the licence over time ------------------------------------------------------------------

    def _tell(self, notice: Notice) -> None:
        with self._notice_lock:
            self._notices.append(notice)

    def _stopped(self, reason: str) -> None:
        """The player stopped by itself (the licence's expiry, an error)."""
        self._tell(PlaybackStopped(text=reason))

    def take_notices(self) -> list[Notice]:
        """What the user should hear of since the last call: playback stopped and why, the
        licence could not be renewed, a style model moved a melody by octaves..."""
        for kind, message in self.mixer.adjustments().items():
            if self._told_adjustments.get(kind) != message:
                self._told_adjustments[kind] = message
                self._tell(StyleAdjusted(stem=kind, text=message))
        with self._notice_lock:
            notices = list(self._notices)
            self._notices.clear()
        return notices

    def renew(self) -> Licence:
        """Renew the licence online now; playback continues under the new one."""
        licence = self._services.renew_licence(self.licence, self.info)
        # The renewed licence carries the artist's current policy; it applies from now on.
        self.licence, self.policy = licence, Policy.from_dict(licence.policy)
        self.offline = False
        return self.licence

    def _keep_licence(self) -> None:
        """Renew from ``renew_after`` on; retry a minute later while the platform is away.

        If renewal is refused (revoked, no longer entitled) playback stops at once; if the
        platform stays unreachable, the licence runs out and the player stops at its expiry.
        """
        told = False
        while not self._closed.wait(max(1.0, self.licence.renew_after - time.time())):
            try:
                self.renew()
                told = False
            except PlatformUnreachableError:
                self._closed.wait(min(60.0, max(1.0, self.licence.expires_at - time.time())))
            except PlatformError as exc:
                if exc.status in (403, 404):  # revoked, or no longer entitled: stop now
                    self.pause()
                    self._stopped(f"Playback stopped: this track is no longer licensed ({exc})")
                    return
                if not told:  # a passing platform error: say so once, keep trying
                    self._tell(LicenceNotice(text=f"Your licence could not be renewed yet: {exc}"))
                    told = True
                self._closed.wait(60.0)
            except LicenceError as exc:
                # E.g. the artist published a new version: this one plays until its licence
                # runs out; renewing again would not help.
                self._tell(
                    LicenceNotice(
                        text=f"{exc} Reopen the track to keep remixing after the licence ends."
                    )
                )
                return
            except Exception as exc:  # the studio was closed under us, or worse: never crash
                if not self._closed.is_set():
                    said = f"Your licence can no longer be renewed ({exc})."
                    self._tell(LicenceNotice(text=said))
                return

    def _hint_platform(self) -> None:
        """Once playback has stretched all of the sound being worked on (its tempo, key and
        styles: see ``Prefetcher``), tell the platform, so that it stretches the same before
        the upload comes and its verification mixes what it stored. After the studio's own
        finishing, not during it, so the two never share the cores. A hint: failures pass."""
        while not self._closed.wait(HINT_POLL_S):
            recipe = self.recipe
            key = sound_key(recipe)
            if self.offline or self.preview or key in self._hinted:
                continue
            if recipe.tempo_ratio == 1.0 and recipe.key_shift == 0:
                continue
            sound = self.mixer.sounds.current
            stretched = [s for s in sound.stems if isinstance(s, StretchedSource)]
            if sound_key(sound.recipe) != key or not stretched:
                continue
            if any(source.unfinished(0) is not None for source in stretched):
                continue
            self._hint(recipe)

    def _hint(self, recipe: Recipe) -> None:
        """Tell the platform of ``recipe``'s tempo and key, once per sound (see
        :meth:`_hint_platform`); failures pass: the verification stretches what is missing."""
        key = sound_key(recipe)
        if key in self._hinted or (recipe.tempo_ratio == 1.0 and recipe.key_shift == 0):
            return
        self._hinted.add(key)
        try:
            self._services.warm_track(self.info.id, recipe.to_json().encode())
        except Exception:
            log.debug("the platform took no warm hint", exc_info=True)

    # --- the recipe ------------------------------------------------------------------------------

    def check(self, recipe: Recipe, *, publishing: bool = False) -> Decision:
        """What the policy says of ``recipe`` (the window greys out what it would refuse).

        Style models count as offered only when this licence covers them, and a styled stem
        needs the licence's restyle right on its key.
        """
        decision = evaluate(
            self.policy,
            recipe,
            publishing=publishing,
            track=self.info,
            models=self.licence.models,
        )
        refused = self.style_permissions().recipe_refusals(recipe)
        if refused:
            return Decision(False, tuple(dict.fromkeys((*decision.reasons, *refused))))
        return decision

    # --- style models ---------------------------------------------------------------------------

    def style_permissions(self) -> StylePermissions:
        """May style models go on this track's stems, which, and why not (under the policy and
        licence in force now)."""
        return StylePermissions.of(self.info, self.policy, self.licence)

    def style_package(self, ref: str) -> StylePackage:
        """The verified package of a model this licence covers (the mixer's resolver).

        Raises StyleModelError for a model the licence does not cover, or one that fails its
        signature, hashes or self-test.
        """
        if ref not in self.licence.models:
            raise StyleModelError(f"Your licence for this track does not cover the model {ref}.")
        return self._services.style_package(ref)

    def model_stems(self) -> list[ModelStems]:
        """The platform's style models, each with ``allowed`` (this licence covers it and the
        policy allows it) and ``stems`` (the stems of this track it may be placed on)."""
        permissions = self.style_permissions()
        models: list[ModelStems] = []
        for model in self._services.offered_models():
            allowed, stems = permissions.model_stems(model)
            models.append(ModelStems(**model, allowed=allowed, stems=stems))
        return models

    def check_style(self, kind: str, slot: StyleSlot) -> None:
        """Raise PolicyDenied with the artist's (and the licence's) reasons if ``slot`` may not
        go on stem ``kind`` (checked again when it is placed)."""
        self.check(self.recipe.with_stem(kind, style=slot)).raise_if_denied()

    def set_style(self, kind: str, slot: StyleSlot | None) -> None:
        """Place a style model on a stem (None removes it). The model is fetched and checked
        first; while playing, the styled sound takes over once it is made (under a second).

        Raises PolicyDenied, StyleModelError (unknown knob, value out of range, bad package).
        """
        recipe = self.recipe.with_stem(kind, style=slot)
        if slot is not None:
            self.check(recipe).raise_if_denied()  # the artist's reasons before any download
            package = self.style_package(slot.ref)  # fetched and verified before it is used
            package.manifest.knob_values(slot.knob_values)
        # A knob drag on one model is one undo step; picking another model is a step of its own.
        self.apply(recipe, edit=(kind, "style", slot.ref if slot else None))

    def apply(
        self,
        recipe: Recipe,
        *,
        edit: tuple[Any, ...] | None = None,
        live: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        """Make ``recipe`` current (heard from the next block); refuses what the policy forbids.

        Args:
            edit: what control made the change, e.g. ``("drums", "gain_db")``. Changes from the
                same control less than ``UNDO_MERGE_S`` apart (a fader drag) are one undo step.
            live: ``(target, changes)`` to record as an automation move at the block where it
                is heard (see :attr:`recording`), on top of ``recipe``.

        Raises:
            RecipeError: the recipe is for another track or other stems.
            PolicyDenied: the artist's policy does not allow it (nothing changes).
        """
        checked = recipe
        if live is not None:
            # Checked with the move where it will most likely land; the mixer stamps it at
            # the block that really takes it, which changes when, not what.
            move = make_move(grid_up(self.mixer.next_frame), *live)
            checked = recipe.with_moves((*recipe.automation, move))
        checked.check_fits(self.info)
        self.licence.require("remix")
        self.check(checked).raise_if_denied()
        now = time.monotonic()
        merge = (
            edit is not None
            and edit == self._last_edit
            and now - self._last_edit_at < (UNDO_MERGE_S)
        )
        if not merge and recipe != self.recipe:
            self._undo.append((self.recipe, edit_name(edit)))
            del self._undo[:-UNDO_DEPTH]
        self._redo.clear()
        self._last_edit, self._last_edit_at = edit, now
        self._make_current(recipe, live=live)

    def _make_current(
        self, recipe: Recipe, *, live: tuple[str, dict[str, Any]] | None = None
    ) -> None:
        """Hand a checked recipe to the engine (heard from the next block): for :meth:`apply`
        and for undo and redo, whose recipes each passed it when they were made."""
        if list(recipe.stems) != self.mixer.names or recipe.parts != self.recipe.parts:
            self._restrip(recipe)
            return
        self.recipe = self.mixer.set_recipe(recipe, live=live)
        self.player.take_waiting_switch()

    # --- the stems as sources -------------------------------------------------------------------

    def sources(self, recipe: Recipe) -> dict[str, Any]:
        """Each stem of ``recipe``'s source: the licensed stems, and the recorded parts
        placed from their takes (raises TakeMissingError for a take not on this computer)."""
        takes = self._services.takes
        parts = {
            name: PlacedPart(takes.audio(part.take), part, self.info.frames)
            for name, part in recipe.parts.items()
        }
        return {**self._stems, **parts}

    def _mixer(self, recipe: Recipe) -> Mixer:
        return Mixer(
            self.sources(recipe), self.info.sample_rate, recipe, track=self.info,
            styles=self.style_package, store=self.chunk_store,
        )  # fmt: skip

    def _restrip(self, recipe: Recipe) -> None:
        """A part came, went or changed: a new mixer with the new stems, playing on from the
        same place (a moment of silence while it starts: an edit of the mix's shape)."""
        mixer = self._mixer(recipe)  # before anything stops: a missing take changes nothing
        playing, position, loop = self.playing, self.position_s, self.loop
        if self._player is not None:
            self._player.close()  # and the old mixer with it
        else:
            self.mixer.close()
        self._player = None
        self.mixer, self.recipe = mixer, recipe
        if position > 0:
            self.seek(position)
        if loop is not None:
            self.set_loop(loop)
        if playing:
            self.play()

    def set_stem(self, kind: str, **changes: Any) -> None:
        """Change a channel strip: for the whole remix, or, while recording and playing, as an
        automation move from the block where it is heard."""
        self._edit(kind, changes)

    def set_master(self, **changes: Any) -> None:
        self._edit(MASTER, changes)

    def _edit(self, target: str, changes: dict[str, Any]) -> None:
        edit = (target, *sorted(changes))
        if self.recording and self.playing:
            self.apply(self.recipe, edit=edit, live=(target, changes))
            return
        recipe = (
            self.recipe.with_master(**changes)
            if target == MASTER
            else self.recipe.with_stem(target, **changes)
        )
        # A setting made for the whole remix replaces what was recorded for it.
        self.apply(recipe.without_automation(target, tuple(changes)), edit=edit)

    def set_tempo(self, *, ratio: float | None = None, key_shift: int | None = None) -> None:
        """Change the tempo (ratio, 1.0 as written) and/or key (semitones) of the whole remix.

        While playing, the old sound goes on until the new one is ready (well under a second);
        recorded moves keep their place in the music.
        """
        self.apply(self.recipe.with_tempo(ratio=ratio, key_shift=key_shift), edit=("tempo",))

    def clear_automation(self) -> None:
        """Forget every recorded move (one undo step)."""
        self.apply(self.recipe.with_moves(()), edit=("automation",))

    def set_arrangement(self, **changes: Any) -> None:
        """Change the arrangement (sections playlist, fades); heard from the next block."""
        self.apply(self.recipe.with_arrangement(**changes), edit=("arrangement", *sorted(changes)))

    @property
    def duration_s(self) -> float:
        """The arranged length in seconds (the track's own length when not rearranged)."""
        return self.mixer.frames / self.info.sample_rate

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_name(self) -> str | None:
        """The edit Undo takes back ("Drums fader"), or None when there is none."""
        return self._undo[-1][1] if self._undo else None

    @property
    def redo_name(self) -> str | None:
        return self._redo[-1][1] if self._redo else None

    def undo(self) -> bool:
        """Go back one edit (heard at once); False when there is nothing to undo."""
        return self._step(self._undo, self._redo)

    def redo(self) -> bool:
        return self._step(self._redo, self._undo)

    def _step(self, source: list[tuple[Recipe, str]], target: list[tuple[Recipe, str]]) -> bool:
        if not source:
            return False
        recipe, name = source.pop()
        # Every recipe in the history passed the policy when it was made; the licence's policy
        # cannot change while the track is open, so it still does.
        target.append((self.recipe, name))
        self._last_edit = None
        self._make_current(recipe)
        return True

    # --- the project ----------------------------------------------------------------------------

    @property
    def modified(self) -> bool:
        """Whether the remix has changes its project file lacks."""
        return self.recipe != self.saved_recipe

    def project(self, account: str) -> Project:
        """This remix as a project (``account``: the user name it is saved under), with the
        playhead and the loop."""
        return Project(
            id=self.project_id,
            recipe=self.recipe,
            track_title=self.info.title,
            artist=self.info.artist,
            account=account,
            position_s=self.position_s,
            loop=self.loop,
        )

    def open_project(self, project: Project) -> list[str]:
        """Make ``project`` this remix: its recipe (moved onto this track version if the
        track changed since: each change a sentence, returned), its playhead and loop. Its
        history starts there; it counts as saved unless the recipe had to change.

        Raises:
            ProjectError: it is a remix of another track, or cannot be moved onto this version.
            PolicyDenied: the artist's policy no longer allows it (the reasons listed).
            TakeMissingError: a recorded part's take is not on this computer.
        """
        recipe, notes = retarget(project.recipe, self.info)
        recipe.check_fits(self.info)
        self.check(recipe).raise_if_denied()
        for part in recipe.parts.values():  # every take is here before anything changes
            self._services.takes.audio(part.take)
        for slot in styles_of(recipe).values():  # fetched and verified before they are heard
            self.style_package(slot.ref).manifest.knob_values(slot.knob_values)
        self._undo.clear()
        self._redo.clear()
        self._last_edit = None
        self._make_current(recipe)
        self.project_id = project.id
        self.saved_recipe = project.recipe  # moved onto a new version: modified
        if project.position_s < self.duration_s:
            self.seek(project.position_s)
        if project.loop is not None:
            self.set_loop(project.loop)
        return notes

    def mark_saved(self, recipe: Recipe) -> None:
        """``recipe`` is what the project file now holds."""
        self.saved_recipe = recipe

    # --- transport -------------------------------------------------------------------------------

    @property
    def player(self) -> Player:
        if self._player is None:
            self._player = Player(
                self.mixer,
                device=self._services.output_device,
                deadline=lambda: float(self.licence.expires_at),
                on_stopped=self._stopped,
                buffering=self._services.buffering,
            )
        return self._player

    @property
    def buffering(self) -> Buffering:
        """The audio buffer the user chose (every track plays with it)."""
        return self._services.buffering

    def set_buffering(self, buffering: Buffering) -> None:
        """The user picked ``buffering``: every open track plays with it from now on, and it
        is kept for the next start (see :meth:`Studio.set_buffering`).

        Raises:
            OutputUnavailableError: the device would not open with it (the track is paused).
            PreferencesError: it took effect but could not be saved.
        """
        self._services.set_buffering(buffering)

    def play_with(self, buffering: Buffering) -> None:
        """Play this track with ``buffering`` (the studio calls this for each open track)."""
        if self._player is not None:  # else the player takes the studio's when it is made
            self._player.set_buffering(buffering)

    @property
    def latency_s(self) -> float:
        """About how long after a control moves it is heard, in seconds."""
        if self._player is None:
            return self._services.buffering.expected_latency_s(self.info.sample_rate)
        return self._player.latency_s

    @property
    def playing(self) -> bool:
        return self._player is not None and self._player.state is TransportState.PLAYING

    @property
    def position_s(self) -> float:
        return self._player.position_s if self._player is not None else 0.0

    @property
    def underruns(self) -> int:
        return self._player.underruns if self._player is not None else 0

    @property
    def realtime(self) -> str | None:
        """Why the audio threads do not run at real-time priority; None when they do (or
        nothing has played yet)."""
        return self._player.realtime if self._player is not None else None

    def status(self) -> PlaybackStatus:
        """Playback now, in one snapshot (the window reads it once per meter tick)."""
        playing = self.playing
        peaks = self.mixer.peaks
        levels = {
            kind: float(peaks[index]) if playing else 0.0
            for index, kind in enumerate(self.mixer.names)
        }
        # One reading of the playhead for the whole snapshot (and no player made for it).
        frame = self._player.position_frames if self._player is not None else 0
        rate = self.info.sample_rate
        moves = len(self.recipe.automation)
        return PlaybackStatus(
            playing=playing,
            position_s=frame / rate,
            source_position_s=self.mixer.source_position(frame) / rate,
            duration_s=self.duration_s,
            peaks=levels,
            master_peak=float(peaks[-1]) if playing else 0.0,
            dropouts=self.underruns,
            realtime=self.realtime,
            moves=moves,
            mix=self.mixer.mix_at(frame) if moves else None,
        )

    def play(self) -> None:
        """Start playing (raises LicenceExpiredError or OutputUnavailableError)."""
        self.licence.check_time(time.time())
        self.player.play()

    def pause(self) -> None:
        if self._player is not None:
            self._player.pause()

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()

    def loop_here(self, on: bool) -> tuple[float, float] | None:
        """Loop the section under the playhead (on) or stop looping; returns the region in
        seconds of the arranged timeline, or None."""
        if not on:
            self.player.set_loop(None)
            return None
        rate = self.info.sample_rate
        here = int(self.position_s * rate)
        start, end = self.mixer.section_at(here)
        self.player.set_loop(start, end)
        return start / rate, end / rate

    def seek(self, seconds: float) -> None:
        self.player.seek(int(seconds * self.info.sample_rate))

    def set_loop(self, region: tuple[float, float] | None) -> None:
        """Loop ``(start_s, end_s)`` of the arranged remix, or stop looping (None).

        Raises:
            ValueError: the region is a few milliseconds or less.
        """
        if region is None:
            self.player.set_loop(None)
            return
        rate = self.info.sample_rate
        self.player.set_loop(round(region[0] * rate), round(region[1] * rate))

    @property
    def loop(self) -> tuple[float, float] | None:
        """The loop region in seconds of the arranged remix, or None."""
        loop = self._player.loop if self._player is not None else None
        rate = self.info.sample_rate
        return (loop[0] / rate, loop[1] / rate) if loop else None

    # --- the timeline --------------------------------------------------------------------------

    @property
    def overview(self) -> TrackOverview:
        """The stems' peak envelopes, from the platform or measured in the background, from
        the first time asked."""
        if self._overview is None:
            fetch = None if self.offline else (lambda: self._services.stem_envelopes(self.info))
            self._overview = TrackOverview(self.info, self._stems, fetch)
        return self._overview

    def lanes(self, start_s: float, end_s: float, columns: int) -> Lanes:
        """The timeline's lanes for seconds ``[start_s, end_s)`` of the remix as it plays now
        (arranged, at its tempo), in ``columns`` columns."""
        recipe = self.recipe
        if not recipe.parts:
            return self.overview.lanes(recipe, start_s, end_s, columns)
        peaks = dict(self.overview.peaks) | {
            name: self._part_peaks(part) for name, part in recipe.parts.items()
        }
        return lay_out_lanes(recipe, self.info, peaks, start_s, end_s, max(1, columns))

    def _part_peaks(self, part: OwnPart) -> StemPeaks:
        """A recorded part's envelope, measured once for each way it is placed."""
        found = self._parts_peaks.get(part)
        if found is None:
            placed = PlacedPart(self._services.takes.audio(part.take), part, self.info.frames)
            found = measure_array(placed[:], StemPeaks(self.info.frames))
            kept = set(self.recipe.parts.values())
            self._parts_peaks = {p: v for p, v in self._parts_peaks.items() if p in kept}
            self._parts_peaks[part] = found
        return found

    # --- render and publish ---------------------------------------------------------------------

    def render(self, recipe: Recipe | None = None, progress: Progress = quiet) -> np.ndarray:
        """Render the remix into memory: float32 (frames, 2); ``progress("Rendering", f)``
        with the fraction of the render done."""
        recipe = recipe or self.recipe
        recipe.check_fits(self.info)
        self.check(recipe).raise_if_denied()
        return render(
            self.sources(recipe),
            self.info.sample_rate,
            recipe,
            progress=lambda f: progress(RENDERING, f),
            track=self.info,
            styles=self.style_package,
            store=self.chunk_store,
        )

    def publish_estimate(self, recipe: Recipe | None = None) -> PublishEstimate:
        """About how long publishing ``recipe`` (the current remix) takes: its render here and
        its verification on the platform (``studio.publishing.estimate``: an estimate), less
        what playback has stretched already and what the platform was asked to stretch."""
        recipe = recipe or self.recipe
        key = sound_key(recipe)
        sound = self.mixer.sounds.current
        stretched = [s for s in sound.stems if isinstance(s, StretchedSource)]
        done = 0.0
        if stretched and sound_key(sound.recipe) == key:
            heard = sum(len(s.heard) for s in stretched)
            kept = sum(1 for s in stretched for i in s.heard if s.stored(i))
            done = kept / heard if heard else 0.0
        return estimate(recipe, self.info, stretched=done, platform_stretched=key in self._hinted)

    def publish(
        self, title: str | None = None, recipe: Recipe | None = None, progress: Progress = quiet
    ) -> dict[str, Any]:
        """Render, sign and upload the derivative; returns the platform's record of it, once
        the platform has verified it.

        ``progress(step, fraction_of_step)``: the steps of ``publishing.PUBLISH_STEPS`` in
        order, "Rendering" (this computer's render, then encoding and signing), "Uploading"
        (the bytes sent) and "Verifying" (the platform's own progress), each from 0 to 1. A
        step that fails is the last one reported, short of 1.

        Raises:
            PolicyDenied: the artist does not allow publishing this recipe.
            LicenceError: the licence has expired or does not grant publishing.
            PlatformError: the platform refused it (the message says why).
        """
        recipe = recipe or self.recipe
        if title:
            recipe = recipe.with_title(title)
        if self.preview:
            raise PreviewNotPublishedError(
                "This is a preview of your draft policy: what you make here is not published."
            )
        self.licence.check_time(time.time())
        self.licence.require("publish")
        recipe.check_fits(self.info)
        decision = self.check(recipe, publishing=True)
        if not decision.allowed:
            raise PolicyDenied(list(decision.reasons))
        # The mix reports its fraction; the loudness pass after it, encoding and signing do
        # not: the mix's share of the step is its share of the estimate.
        expected = estimate(recipe, self.info)
        share = expected.mix_s / expected.render_s if expected.render_s > 0 else 1.0
        started = time.monotonic()
        mixed: list[float] = []  # when the mix was done

        def mixing(fraction: float) -> None:
            if fraction >= 1.0 and not mixed:
                mixed.append(time.monotonic())
            progress(RENDERING, share * fraction)

        # A sound not yet told of: the platform stretches it while this render and the upload
        # run (on another machine, the verification is then mostly done when the upload lands).
        self._hint(recipe)
        progress(RENDERING, 0.0)
        # The platform measures who is really heard with whom in its re-render; say so here
        # first, with the same measure, before anything is uploaded.
        audio, measured, levels = self._measured_render(recipe, mixing)
        if measured:
            raise PolicyDenied(measured)
        progress(RENDERING, share + 0.9 * (1.0 - share))
        flac = encode_flac(audio, self.info.sample_rate)
        del audio
        recipe_bytes = recipe.to_json().encode()
        signed = self._signed(recipe, flac, levels)
        del flac
        if mixed:
            note_render(recipe, self.info, mixed[0] - started, time.monotonic() - mixed[0])
        progress(RENDERING, 1.0)
        steps = {"uploading": UPLOADING, "verifying": VERIFYING}
        takes = {part.take: self._services.takes.data(part.take) for part in recipe.parts.values()}
        result = self._services.upload_derivative(
            audio=signed,
            recipe=recipe_bytes,
            title=recipe.title,
            takes=takes,
            on_progress=lambda step, f: progress(steps.get(step, step), f),
            project_id=self.project_id,
        )
        return dict(result)

    def auditions(self) -> list[Audition]:
        """What the policy allows, one transformation at a time, for the artist to hear."""
        return auditions(self.info, self.policy, self.style_permissions(), self.check)

    def refusals(self, recipe: Recipe, progress: Progress = quiet) -> list[str]:
        """Why the platform would refuse to publish ``recipe`` under this track's policy: the
        policy's rules, then what a render of it measures (who is heard with whom). None: it
        would be published. Renders in memory; keeps nothing."""
        recipe.check_fits(self.info)
        decision = self.check(recipe, publishing=True)
        if not decision.allowed:
            return list(decision.reasons)
        return self._measured_render(recipe, lambda f: progress(RENDERING, f))[1]

    def _measured_render(
        self, recipe: Recipe, progress: Callable[[float], None]
    ) -> tuple[np.ndarray, list[str], dict[str, float]]:
        """The published form of ``recipe`` (float32 (frames, 2)), what the platform's
        measure of it would refuse (``company.heard_reasons``; empty: nothing) and each stem's
        level in it (dB under the loudest; -inf: silent)."""
        levels: dict[str, float] = {}
        company = CompanyMeter()
        audio, _gain_db = render_derivative(
            self.sources(recipe),
            self.info.sample_rate,
            recipe,
            progress=progress,
            track=self.info,
            levels=levels,
            styles=self.style_package,
            company=company,
            store=self.chunk_store,
        )
        reasons = heard_reasons(self.policy, levels, company, own=recipe.parts)
        return audio, reasons, levels

    def _signed(self, recipe: Recipe, flac: bytes, levels: dict[str, float]) -> bytes:
        """``flac`` with this device's Content Credentials: the licensed track version it was
        made from, the style models, what was done, the recipe and licence it answers to, and
        each stem's ``levels`` in this render (dB under the loudest)."""
        styles = styles_of(recipe)
        offered = (
            {m["ref"]: m.get("display_name", m["ref"]) for m in self._services.offered_models()}
            if styles
            else {}
        )
        used = sorted({slot.ref for slot in styles.values()})
        facts = RemixFacts(
            title=recipe.title,
            fan=self._services.user_name,
            software_version=__version__,
            track_id=self.info.id,
            track_version=self.info.version,
            track_title=self.info.title,
            artist=self.info.artist,
            track_digest=self.sealed_digest,
            models={ref: offered.get(ref, ref) for ref in used},
            styled_stems={kind: slot.ref for kind, slot in styles.items()},
            edits=edits_of(recipe),
            tempo_ratio=recipe.tempo_ratio,
            parts={name: (part.role, part.take) for name, part in recipe.parts.items()},
            remix={
                "recipe_sha256": recipe.digest(),
                "licence_id": self.licence.licence_id,
                "watermark_session": self.licence.watermark_session,
                "track": self.info.id,
                "track_version": self.info.version,
                "track_digest": self.sealed_digest,
                "device": self._services.device_id,
                "user": self._services.user_id,
                "created_at": int(time.time()),
                # Disclosure: which style models made this remix (the platform checks it).
                "ai": {"used": bool(used), "models": used},
                # What this render measured: the platform countersigns with it while its own
                # re-render runs, and keeps its own measure where the two differ.
                "levels": claimed_levels(levels),
            },
        )
        return sign_flac(
            flac,
            remix_manifest(facts),
            self._services.device_keys().signing.sign,
            self._services.certificate_pem,
        )

    def close(self) -> None:
        """Stop playback, stop renewing the licence, and close the stems' sources and the
        cache files they read."""
        self._closed.set()
        self.recorder.close()
        if self._overview is not None:
            self._overview.close()
        if self._player is not None:
            self._player.close()
        self.mixer.close()
        self.chunk_store.clear()
        self._stems.clear()
        for resource in self._resources:
            resource.close()
