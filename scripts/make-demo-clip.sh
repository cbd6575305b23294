#!/usr/bin/env bash
# Renders the demo's bundled clip (samples/demo-clip.mp4 + samples/demo-clip.transcript.json) from SynthEmo:
# five generated utterances, one per class, by the speakers whose rendered faces OpenCV's Haar cascade finds,
# each after a second of silence; the face strip of each utterance becomes the video while it is spoken,
# and its sentence becomes a timed transcript segment (what a client that sends its own transcripts sends).
# Deterministic for the seed. Needs the built CLI, ffmpeg and sox.
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${SEED:-11}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
wavfusion() { dotnet src/WavFusion.Cli/bin/Release/net10.0/wavfusion.dll "$@"; }
wavfusion synth --out "$work/corpus" --items 150 --seed "$seed" --frame-size 112 --frames 25 >/dev/null

# One item per class, speakers 0 and 4 (their faces are detectable), in a fixed class order.
picks=()
for label in neutral happy angry sad calm; do
  id=$(grep "\"label\":\"$label\"" "$work/corpus/manifest.jsonl" | grep -E '"speaker":"speaker(0|4)"' | grep '"masking":"none"' | head -1 \
       | sed -E 's/.*"id":"([^"]+)".*/\1/')
  [ -n "$id" ] || { echo "error: no $label item by speaker 0 or 4 for seed $seed" >&2; exit 1; }
  picks+=("$id")
done

gap=1.0
sox -n -r 16000 -c 1 -b 16 "$work/gap.wav" trim 0 "$gap"
audio=()
list="$work/frames.txt"
: > "$list"
transcript="["
t=0
for id in "${picks[@]}"; do
  line=$(grep "\"id\":\"$id\"" "$work/corpus/manifest.jsonl")
  duration=$(sed -E 's/.*"duration_s":([0-9.]+).*/\1/' <<<"$line")
  count=$(sed -E 's/.*"frame_count":([0-9]+).*/\1/' <<<"$line")
  text=$(sed -E 's/.*"text":"([^"]*)".*/\1/' <<<"$line")
  mkdir -p "$work/frames/$id"
  ffmpeg -loglevel error -i "$work/corpus/faces/$id.png" -vf "untile=${count}x1" "$work/frames/$id/%03d.png"
  # the first face holds through the silence before the utterance, then the frames spread over it
  echo "file '$work/frames/$id/001.png'" >> "$list"
  echo "duration $gap" >> "$list"
  per=$(awk -v d="$duration" -v n="$count" 'BEGIN { printf "%.4f", d / n }')
  for f in "$work/frames/$id"/*.png; do echo "file '$f'" >> "$list"; echo "duration $per" >> "$list"; done
  audio+=("$work/gap.wav" "$work/corpus/audio/$id.wav")
  start=$(awk -v t="$t" -v g="$gap" 'BEGIN { printf "%d", (t + g) * 1000 }')
  end=$(awk -v t="$t" -v g="$gap" -v d="$duration" 'BEGIN { printf "%d", (t + g + d) * 1000 }')
  [ "$transcript" = "[" ] || transcript+=","
  transcript+=$'\n'"  {\"start_ms\": $start, \"end_ms\": $end, \"text\": \"$text\"}"
  t=$(awk -v t="$t" -v g="$gap" -v d="$duration" 'BEGIN { printf "%.4f", t + g + d }')
done
echo "file '$work/frames/${picks[-1]}/$(printf %03d "$count").png'" >> "$list"
sox "${audio[@]}" "$work/gap.wav" -r 16000 -c 1 -b 16 "$work/audio.wav"
ffmpeg -loglevel error -y -f concat -safe 0 -i "$list" -i "$work/audio.wav" \
  -vf "scale=224:224:flags=lanczos,pad=320:240:48:8:color=0x303030,fps=10,format=yuv420p" \
  -c:v libx264 -preset veryslow -crf 23 -c:a aac -b:a 64k -shortest samples/demo-clip.mp4
printf '%s\n]\n' "$transcript" > samples/demo-clip.transcript.json
echo "samples/demo-clip.mp4: ${picks[*]} ($(du -h samples/demo-clip.mp4 | cut -f1))"
