#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages WavFusion.Live needs at run and test time, skipping those present.
# ffmpeg decodes audio/video files; espeak-ng and sox render the SynthEmo corpus; the report PNGs
# (ScottPlot on SkiaSharp's dependency-free native library) take their label font from fonts-dejavu-core; live capture
# reads microphones through libasound2 (alsa-utils for arecord -L); OpenCvSharp's native runtime needs libgtk-3-0 and
# face detection reads the Haar cascades of opencv-data; the scale-out tests start a real nats-server (the message bus
# between `wavfusion serve` replicas) on a free loopback port. The web dashboard's browser test drives Debian's chromium
# headless through playwright-core (no browser download), under node and npm (node 20 or later; an older one makes
# that test skip); Ubuntu ships chromium as a snap only, so there it is left to the user.
set -euo pipefail

packages=(ffmpeg espeak-ng sox fonts-dejavu-core libasound2 alsa-utils libgtk-3-0 opencv-data nats-server)
distro=""
if [ -r /etc/os-release ]; then distro="$(. /etc/os-release && echo "${ID:-}")"; fi
[ "$distro" = debian ] && packages+=(chromium)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET 10 SDK is required (https://dotnet.microsoft.com/download); 'dotnet' is not on PATH" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: please install: ${missing[*]}" >&2
    exit 1
  fi
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "installing system packages: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
