#!/usr/bin/env bash
# Add Unlearn GUI to the desktop's application menu (current user only, no root):
#   packaging/install-desktop-entry.sh [BUNDLE_DIR]      (default: dist/unlearn-gui, or this script's folder)
#   packaging/install-desktop-entry.sh --uninstall
# Installs the icon into ~/.local/share/icons/hicolor/{48x48,128x128,256x256}/apps/unlearn-gui.png and
# ~/.local/share/applications/unlearn-gui.desktop with Exec= pointing at the bundle's executable.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$data/applications/unlearn-gui.desktop"
    for n in 48 128 256; do rm -f "$data/icons/hicolor/${n}x${n}/apps/unlearn-gui.png"; done
    echo "removed the Unlearn GUI desktop entry"
    exit 0
fi
if [ -n "${1:-}" ]; then bundle="$(cd "$1" && pwd)"
elif [ -x "$here/unlearn-gui" ]; then bundle="$here"                 # copied into the bundle by `make package`
else bundle="$(cd "$here/.." && pwd)/dist/unlearn-gui"; fi            # run from the source tree
exe="$bundle/unlearn-gui"
[ -x "$exe" ] || { echo "no executable at $exe: build it with 'make package' or pass the bundle folder" >&2; exit 1; }
icons="$bundle/_internal/resources/icons"
desktop="$here/unlearn-gui.desktop"
[ -f "$desktop" ] || desktop="$bundle/unlearn-gui.desktop"
for n in 48 128 256; do
    install -D -m 644 "$icons/app-$n.png" "$data/icons/hicolor/${n}x${n}/apps/unlearn-gui.png"
done
mkdir -p "$data/applications"
# quote the path for the Exec key (spaces in the bundle path)
sed -e "s|^Exec=.*|Exec=\"$exe\"|" "$desktop" > "$data/applications/unlearn-gui.desktop"
chmod 644 "$data/applications/unlearn-gui.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "installed $data/applications/unlearn-gui.desktop -> $exe"
