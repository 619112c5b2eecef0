#!/bin/bash
# Build the Debian package from this tree, collect what dpkg-buildpackage
# produced in dist/ (git-ignored), and hold the .deb to lintian's standard:
# any error or warning fails the build. Extra arguments go to dpkg-buildpackage.
#
#   packaging/build-deb.sh   # -> dist/iot-amqpd_<version>_<arch>.deb and
#                            #    dist/iot-amqpd-emulator_<version>_<arch>.deb
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
# dpkg-buildpackage always writes its results beside the source tree.
parent=$(dirname "$root")
changes="$parent/iot-amqpd_${version}_${arch}.changes"
debs=("iot-amqpd_${version}_${arch}.deb" "iot-amqpd-emulator_${version}_${arch}.deb")

rm -f "$changes"
# -jauto: one make job per online processor.
dpkg-buildpackage -us -uc -b -jauto "$@"

# Move exactly what the .changes file lists (the .debs, their -dbgsym packages
# and the .buildinfo), then the .changes itself, so nothing stale is picked up.
mkdir -p dist
mapfile -t produced < <(awk '/^Files:/ { in_files = 1; next }
                              /^[^ ]/   { in_files = 0 }
                              in_files && NF == 5 { print $5 }' "$changes")
for file in "${produced[@]}"; do
    mv -f "$parent/$file" dist/
done
mv -f "$changes" dist/
echo "build-deb: dist/ holds: ${produced[*]} $(basename "$changes")"

# -I also shows informational tags, which do not fail the build.
lintian -I --fail-on error,warning "${debs[@]/#/dist/}"
echo "build-deb: PASS: ${debs[*]/#/dist/} built, lintian reports no errors or warnings"
