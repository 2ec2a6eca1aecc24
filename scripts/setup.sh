#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Shared set-up for scripts/studio and scripts/test (sourced, not run):
#   - Debian packages Fanfare needs at run time (PortAudio, PulseAudio, Qt's X11/EGL libraries,
#     Xvfb), installed with apt-get when running as root, or named in a clear message otherwise;
#   - a virtualenv in .venv (or $FANFARE_VENV) with the project installed in editable mode;
#   - a PulseAudio server with a null sink when none is running, so playback has a device.
set -euo pipefail

FANFARE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FANFARE_VENV=${FANFARE_VENV:-$FANFARE_ROOT/.venv}
FANFARE_DEBS=(
  libportaudio2 pulseaudio pulseaudio-utils libchromaprint1
  libegl1 libgl1 libopengl0 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3
  libglib2.0-0 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
  libxcb-xinerama0 libxcb-image0 libxcb-render-util0 libxcb-randr0 libxcb-xfixes0
  xvfb xauth fonts-dejavu-core
)
# For the tests only: a desktop's services, started on a private bus by the tests that check
# real-time priority through RealtimeKit and keys kept in a real Secret Service keyring (a
# desktop runs them already), a JACK server (dummy backend) for MIDI controllers, and
# PostgreSQL, which the platform tests start a private server of.
FANFARE_TEST_DEBS=(dbus-daemon polkitd rtkit gnome-keyring jackd2 postgresql)

fanfare_say() { printf 'fanfare: %s\n' "$*" >&2; }

fanfare_debs() {  # "$@": more packages than FANFARE_DEBS, e.g. FANFARE_TEST_DEBS
  command -v dpkg-query >/dev/null 2>&1 || return 0  # not Debian: the packages are the user's
  local missing=() pkg
  for pkg in "${FANFARE_DEBS[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    fanfare_say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    fanfare_say "these Debian packages are missing; install them first:"
    fanfare_say "  sudo apt-get install ${missing[*]}"
    return 1
  fi
}

fanfare_venv() {  # $1: the extras to install, e.g. "test"
  local extras=${1:-} stamp spec
  if [ ! -x "$FANFARE_VENV/bin/python" ]; then
    fanfare_say "creating the virtualenv in $FANFARE_VENV"
    python3 -m venv "$FANFARE_VENV"
  fi
  spec="."
  [ -n "$extras" ] && spec=".[$extras]"
  # Reinstall only when pyproject.toml or the extras changed: a warm start stays fast.
  stamp="$FANFARE_VENV/.fanfare-installed"
  local want
  want="$(sha256sum "$FANFARE_ROOT/pyproject.toml" | cut -c1-16) $extras"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    fanfare_say "installing Fanfare and its dependencies (pip)"
    "$FANFARE_VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    (cd "$FANFARE_ROOT" && "$FANFARE_VENV/bin/python" -m pip install -q -e "$spec")
    echo "$want" > "$stamp"
  fi
}

fanfare_pulse() {  # a paced audio device even on a machine without a sound card
  if [ -n "${PULSE_SERVER:-}" ] || pactl info >/dev/null 2>&1; then
    return 0  # a sound server this user can reach: a desktop, or one started before
  fi
  command -v pulseaudio >/dev/null 2>&1 || { fanfare_say "no PulseAudio: playback may be unavailable"; return 0; }
  local dir=${FANFARE_PULSE_DIR:-${TMPDIR:-/tmp}/fanfare-pulse-$(id -u)}
  mkdir -p "$dir"
  if PULSE_SERVER="unix:$dir/native" pactl info >/dev/null 2>&1; then
    export PULSE_SERVER="unix:$dir/native"
    fanfare_pulse_awake "$dir"
    return 0
  fi
  if pulseaudio --check 2>/dev/null; then
    # A daemon runs that nobody can reach (a headless leftover): replace it with ours.
    pulseaudio -k 2>/dev/null || true
    for _ in $(seq 50); do pulseaudio --check 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$dir/native"
  pulseaudio -D --exit-idle-time=-1 -n --log-target=stderr --log-level=error \
    --load=module-null-sink \
    --load="module-native-protocol-unix auth-anonymous=1 socket=$dir/native" 2>/dev/null \
    || { fanfare_say "PulseAudio did not start: playback may be unavailable"; return 0; }
  for _ in $(seq 50); do
    PULSE_SERVER="unix:$dir/native" pactl info >/dev/null 2>&1 && break
    sleep 0.1
  done
  export PULSE_SERVER="unix:$dir/native"
  fanfare_pulse_awake "$dir"
}

# A null sink left idle sleeps on a 2 s timer and takes a new stream only when it next wakes
# (measured: ~1.5 s before the first frame is pulled; a sound card does not do this). Reading
# its monitor at a 60 ms latency keeps it awake, so first-audio times measure Fanfare (at
# 10-30 ms the null sink itself underflows here, with or without Fanfare).
fanfare_pulse_awake() {
  local dir=$1
  command -v pacat >/dev/null 2>&1 || return 0
  if [ -f "$dir/awake.pid" ] && kill -0 "$(cat "$dir/awake.pid")" 2>/dev/null; then
    return 0
  fi
  PULSE_SERVER="unix:$dir/native" nohup pacat -r --latency-msec=60 -d null.monitor \
    >/dev/null 2>&1 &
  echo $! >"$dir/awake.pid"
}
