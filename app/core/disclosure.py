# SPDX-License-Identifier: GPL-3.0-or-later
"""How a derivative was made, as every listener is told it.

The platform builds this once, when it publishes a remix, from the verified recipe and its own
re-render (``levels``: each stem's energy in the mix, in dB under the loudest stem). What it
lists is what a listener hears: every stem, with how loud it is in the mix, rather than only
the loud ones; a stem 24 dB or more under the loudest is listed as *quiet*, one 50 dB or more
under it (or muted) as *not heard*.

AI use is grouped in the four areas of DDEX's AI disclosure (ERN 4.3 ``AiUsage``): vocals,
instrumentation, post-production and composition/lyrics, so a distributor can map it. A style
model on the vocal stem is AI in *vocals*; on any other stem, in *instrumentation*. Fanfare's
effects, mixing and mastering are signal processing, not AI, and a remix writes no new notes
or words, so the last two are always "no". The *AI share* is the fraction of the remix's stem
energy that style models made: each styled stem's energy times its style's wet mix, over all
stems' energy (0 to 1).
"""

from __future__ import annotations

from typing import Any

from app.core.own_part import role_words
from app.core.recipe import Recipe, styles_of
from app.core.track import TrackInfo

FORMAT_VERSION = 1
#: Under the loudest stem, in dB: quieter than the first is "quiet", than the second "not heard".
QUIET_DB = 24.0
UNHEARD_DB = 50.0
VOCAL_STEMS = frozenset({"vocal", "vocals", "voice", "lead_vocal", "backing_vocals", "choir"})
AREAS = ("vocals", "instrumentation", "post_production", "composition_lyrics")
AREA_WORDS = {
    "vocals": "vocals",
    "instrumentation": "instrumentation",
    "post_production": "post-production",
    "composition_lyrics": "composition and lyrics",
}


def heard_as(level_db: float, muted: bool) -> str:
    """'clearly', 'quietly' or 'not heard', for a stem ``level_db`` under the loudest one."""
    if muted or not level_db > -UNHEARD_DB:
        return "not heard"
    return "clearly" if level_db > -QUIET_DB else "quietly"


def disclose(
    recipe: Recipe, track: TrackInfo, artist: str, levels: dict[str, float]
) -> dict[str, Any]:
    """The how-it-was-made document of a verified remix (JSON-ready).

    Args:
        recipe: the verified recipe.
        track: the licensed track version.
        artist: the track's artist, as listeners see the name.
        levels: stem kind → its level in the re-render, dB under the loudest (-inf: silent).
    """
    styles = styles_of(recipe)
    soloed = any(s.solo for s in recipe.stems.values())
    stems = []
    energy_total = 0.0
    energy_ai = 0.0
    for kind, mix in recipe.stems.items():
        level = float(levels.get(kind, float("-inf")))
        muted = mix.mute or (soloed and not mix.solo)
        slot = styles.get(kind)
        energy = 0.0 if muted or level == float("-inf") else 10.0 ** (level / 10.0)
        energy_total += energy
        if slot is not None:
            energy_ai += energy * slot.mix
        stems.append(
            {
                "stem": kind,
                "heard": heard_as(level, muted),
                "level_db": round(level, 1) if level > -200 else None,
                "effects": mix.fx.active_effects(),
                "style": (
                    {"model": slot.ref, "mix": round(slot.mix, 2)} if slot is not None else None
                ),
            }
        )
    areas: dict[str, dict[str, Any]] = {a: {"ai": False, "models": [], "stems": []} for a in AREAS}
    for kind, slot in styles.items():
        part = recipe.parts.get(kind)
        vocal = part.role == "vocal" if part is not None else kind in VOCAL_STEMS
        area = areas["vocals" if vocal else "instrumentation"]
        area["ai"] = True
        area["stems"].append(kind)
        if slot.ref not in area["models"]:
            area["models"].append(slot.ref)
    arrangement = recipe.arrangement
    own_parts = [
        {"stem": name, "role": part.role, "replaces": part.replaces}
        for name, part in recipe.parts.items()
    ]
    return {
        "version": FORMAT_VERSION,
        "made_with": "Fanfare stem remix",
        "source": {
            "track_id": track.id,
            "version": track.version,
            "title": track.title,
            "artist": artist,
        },
        "stems": stems,
        "master_effects": recipe.master.fx.active_effects(),
        "tempo_ratio": recipe.tempo_ratio,
        "bpm": round(track.bpm * recipe.tempo_ratio, 1) if track.bpm else None,
        "key_shift": recipe.key_shift,
        "arrangement": {
            "rearranged": arrangement.sections is not None,
            "sections": (
                [track.sections[p.section].name for p in arrangement.sections]
                if arrangement.sections is not None and track.sections
                else None
            ),
            "fade_in_s": arrangement.fade_in_s,
            "fade_out_s": arrangement.fade_out_s,
        },
        "automated": bool(recipe.automation),
        # The fan's own recorded parts (a cover): people, not models, made them.
        "own_parts": own_parts,
        "ai": {
            "used": bool(styles),
            "share": round(energy_ai / energy_total, 3) if energy_total > 0 else 0.0,
            "areas": areas,
        },
    }


def claimed_levels(levels: dict[str, float]) -> dict[str, float | None]:
    """``levels`` as JSON holds them (a silent stem's -inf as null), for the studio's claim in
    its credentials of what its render measured."""
    return {kind: level if level > float("-inf") else None for kind, level in levels.items()}


def levels_claimed(doc: object) -> dict[str, float] | None:
    """What ``claimed_levels`` wrote, read back from a fan's assertion; None when it is not
    there or not levels (an older studio, or a forged one: the platform measures anyway)."""
    if not isinstance(doc, dict):
        return None
    levels = {}
    for kind, level in doc.items():
        if level is None:
            levels[str(kind)] = float("-inf")
        elif isinstance(level, (int, float)) and not isinstance(level, bool):
            levels[str(kind)] = float(level)
        else:
            return None
    return levels


def describe(doc: dict[str, Any]) -> list[str]:
    """The document in sentences, one per line, as the player and ``fanfare feed`` show it."""
    source = doc.get("source", {})
    lines = [f"A remix of “{source.get('title', '?')}” by {source.get('artist') or 'its artist'}."]
    clear = [s["stem"] for s in doc.get("stems", []) if s.get("heard") == "clearly"]
    quiet = [s for s in doc.get("stems", []) if s.get("heard") == "quietly"]
    unheard = [s["stem"] for s in doc.get("stems", []) if s.get("heard") == "not heard"]
    heard = "Stems heard: " + (", ".join(clear) or "none")
    if quiet:
        heard += "; quietly: " + ", ".join(f"{s['stem']} ({s['level_db']:+.0f} dB)" for s in quiet)
    if unheard:
        heard += "; not heard: " + ", ".join(unheard)
    lines.append(heard + ".")
    effects = sorted({e for s in doc.get("stems", []) for e in s.get("effects", [])})
    effects += [f"master {e}" for e in doc.get("master_effects", [])]
    if effects:
        lines.append("Effects: " + ", ".join(effects) + ".")
    changes = []
    ratio = float(doc.get("tempo_ratio", 1.0))
    if ratio != 1.0:
        bpm = doc.get("bpm")
        changes.append(f"tempo ×{ratio:.2f}" + (f" ({bpm:g} BPM)" if bpm else ""))
    if doc.get("key_shift"):
        changes.append(f"key {int(doc['key_shift']):+d} semitones")
    arrangement = doc.get("arrangement", {})
    if arrangement.get("rearranged"):
        sections = arrangement.get("sections")
        changes.append("rearranged" + (f" ({' → '.join(sections)})" if sections else ""))
    if arrangement.get("fade_in_s") or arrangement.get("fade_out_s"):
        changes.append("faded")
    if doc.get("automated"):
        changes.append("mix moves recorded")
    if changes:
        lines.append("Changes: " + ", ".join(changes) + ".")
    for part in doc.get("own_parts", []):
        replaced = f", in place of the {part['replaces']} stem" if part.get("replaces") else ""
        lines.append(
            f"With a {role_words(str(part.get('role', 'part')))} ({part.get('stem')}){replaced}."
        )
    ai = doc.get("ai", {})
    if ai.get("used"):
        parts = []
        for area, words in AREA_WORDS.items():
            entry = ai.get("areas", {}).get(area, {})
            if entry.get("ai"):
                styled = ", ".join(entry.get("stems", []))
                parts.append(f"{words} ({styled}: {', '.join(entry.get('models', []))})")
        lines.append(
            f"AI: {'; '.join(parts)}; {round(100 * float(ai.get('share', 0.0)))} % of the mix."
        )
    else:
        lines.append("AI: none.")
    return lines
