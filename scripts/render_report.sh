#!/usr/bin/env bash
# Write RUN_DIR/report.html and render it to a PNG with headless Chromium (Debian: apt-get install chromium),
# then list any page/console errors Chromium reported. Offline: every network feature is switched off and
# the report itself references nothing outside the file.
#
# Usage: scripts/render_report.sh RUN_DIR [OUT_PNG] [--scorecard]
#   OUT_PNG      default: docs/report.png
#   --scorecard  first compute RUN_DIR/scorecard.json and tokenview.json by reloading the base model with the
#                run's LoRA adapter (before = adapter disabled, after = adapter on; greedy texts from summary.json)
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_DIR="" OUT_PNG="docs/report.png" SCORECARD=0
for a in "$@"; do
  case "$a" in
    --scorecard) SCORECARD=1 ;;
    *) if [ -z "$RUN_DIR" ]; then RUN_DIR="$a"; else OUT_PNG="$a"; fi ;;
  esac
done
[ -n "$RUN_DIR" ] || { echo "usage: $0 RUN_DIR [OUT_PNG] [--scorecard]" >&2; exit 2; }
PY=.venv/bin/python; [ -x "$PY" ] || PY=python3

if [ "$SCORECARD" = 1 ]; then
  "$PY" - "$RUN_DIR" <<'EOF'
import json, sys, time
from pathlib import Path
from unlearn_gui.core import config as C, report, scorecard, session as S, tokenview

run = Path(sys.argv[1])
cfg = C.resolve(C.from_dict(json.loads((run / "config.json").read_text(encoding="utf-8"))))
summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
s = S.prepare(cfg, lambda e: None)
if not s.lora:
    sys.exit("--scorecard handles LoRA runs only (a full fine-tuning run has no original weights in its folder)")
from peft import set_peft_model_state_dict
from safetensors.torch import load_file
set_peft_model_state_dict(s.model, load_file(str(run / "adapter" / "adapter_model.safetensors")))
gens = summary["generations"]
assert [g["prompt"] for g in gens] == [g.prompt for g in s.compare], "compare rows differ from the run's"
t0 = time.perf_counter()
before = scorecard.measure(s, original=True, texts=[g["before"] or "" for g in gens])
after = scorecard.measure(s, original=False, texts=[g["after"] or "" for g in gens])
print(f"scorecard: before {before['seconds']:.1f} s, after {after['seconds']:.1f} s "
      f"(total {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
report.write_scorecard(run, before, after)
tokenview.write_tokenview(run, tokenview.rows(s, [e.record for e in s.forget[:3]]))
EOF
fi

"$PY" -c "import sys; from unlearn_gui.core.report import write_report; print(write_report(sys.argv[1]))" "$RUN_DIR"

LOG="$(mktemp)"
PROFILE="$(mktemp -d)"
trap 'rm -rf "$PROFILE" "$LOG"' EXIT
mkdir -p "$(dirname "$OUT_PNG")"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$PROFILE" --enable-logging=stderr --v=0 \
  --screenshot="$(realpath -m "$OUT_PNG")" --window-size=1280,2400 "file://$(realpath "$RUN_DIR")/report.html" \
  >"$LOG" 2>&1 || { cat "$LOG" >&2; exit 1; }
# D-Bus/UPower noise is expected in a container; anything from the page or renderer is not.
if grep -E "CONSOLE|Uncaught|Refused|net::ERR|Failed to load|blink|render" "$LOG" | grep -v -i dbus; then
  echo "page errors above" >&2
  exit 1
fi
echo "screenshot: $OUT_PNG"
