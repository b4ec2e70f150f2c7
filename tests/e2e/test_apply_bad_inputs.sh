# A folder of good and bad files: exit 3, one record per input in sorted
# order, good images labelled, every bad one an error record and a line on
# stderr, and the run goes on.
source "$(dirname "$0")/lib.sh"

mkdir -p photos/sub photos/dir.jpg photos/.hidden
cp "$PHOTOS/baboon.jpg" photos/a_baboon.jpg
cp "$PHOTOS/fruits.jpg" photos/sub/b_fruits.JPG
cp "$PHOTOS/chicky_512.png" photos/c_chicky.png
cp "$PHOTOS/messi5.jpg" photos/.hidden/skipped.jpg
cp "$PHOTOS/HappyFish.jpg" photos/dir.jpg/inner.jpg   # a folder named like an image is a folder
/usr/bin/python3 - <<'PY'
import cv2
img = cv2.imread("/usr/share/doc/opencv-doc/examples/data/fruits.jpg")
cv2.imwrite("photos/d_fruits.bmp", img)
cv2.imwrite("photos/e_fruits.webp", img)
cv2.imwrite("photos/f_fruits.tiff", img)
data = open("/usr/share/doc/opencv-doc/examples/data/baboon.jpg", "rb").read()
open("photos/g_truncated.jpg", "wb").write(data[: len(data) // 2])
open("photos/h_text.jpg", "w").write("this is not an image\n")
open("photos/i_empty.png", "wb").close()
png = open("/usr/share/doc/opencv-doc/examples/data/chicky_512.png", "rb").read()
open("photos/j_truncated.png", "wb").write(png[: len(png) // 3])
# A JPEG whose header claims 60000 x 60000 pixels: refused before decoding.
i = data.index(b"\xff\xc0")
huge = bytearray(data)
huge[i + 5:i + 9] = (60000).to_bytes(2, "big") + (60000).to_bytes(2, "big")
open("photos/k_huge.jpg", "wb").write(bytes(huge))
PY
echo "not an image extension" > photos/notes.txt

expect_exit 3 "$ZOO" apply model.yaml photos -o out.jsonl --batch-size 4 2> err.txt
cat err.txt

expected='["photos/a_baboon.jpg","photos/c_chicky.png","photos/d_fruits.bmp","photos/dir.jpg/inner.jpg","photos/e_fruits.webp","photos/f_fruits.tiff","photos/g_truncated.jpg","photos/h_text.jpg","photos/i_empty.png","photos/j_truncated.png","photos/k_huge.jpg","photos/sub/b_fruits.JPG"]'
jsonl_check out.jsonl "[r['filepath'] for r in records] == $expected"
jsonl_check out.jsonl "all(('predictions' in r) == (r['filepath'].split('/')[-1] in ('a_baboon.jpg','c_chicky.png','d_fruits.bmp','inner.jpg','e_fruits.webp','f_fruits.tiff','b_fruits.JPG')) for r in records)"
jsonl_check out.jsonl "all(r['predictions']['label'] in ('cat','dog','bird','fish') and 0 < r['predictions']['confidence'] <= 1 for r in records if 'predictions' in r)"
jsonl_check out.jsonl "[r for r in records if r['filepath']=='photos/a_baboon.jpg'][0]['width'] == 512"
jsonl_check out.jsonl "'truncated' in [r for r in records if r['filepath']=='photos/g_truncated.jpg'][0]['error']"
jsonl_check out.jsonl "'truncated' in [r for r in records if r['filepath']=='photos/j_truncated.png'][0]['error']"
jsonl_check out.jsonl "'empty' in [r for r in records if r['filepath']=='photos/i_empty.png'][0]['error']"
jsonl_check out.jsonl "'too large' in [r for r in records if r['filepath']=='photos/k_huge.jpg'][0]['error']"
jsonl_check out.jsonl "'decode' in [r for r in records if r['filepath']=='photos/h_text.jpg'][0]['error']"
for bad in g_truncated.jpg h_text.jpg i_empty.png j_truncated.png k_huge.jpg; do
  grep -q "photos/$bad" err.txt || fail "no stderr line for $bad"
done
grep -q "7 ok, 5 failed" err.txt || fail "summary does not count 7 ok, 5 failed"
# Named on the command line, a folder named like an image is walked too; a
# path that is neither a file nor a folder is an error record.
expect_exit 3 "$ZOO" apply model.yaml photos/dir.jpg photos/missing.jpg -o named.jsonl -q
jsonl_check named.jsonl "[r['filepath'] for r in records] == ['photos/dir.jpg/inner.jpg', 'photos/missing.jpg'] and 'predictions' in records[0] and records[1]['error'] == 'no such file'"

# The same image gives the same record whatever its neighbours and batch size.
expect_exit 0 "$ZOO" apply model.yaml photos/a_baboon.jpg -o single.jsonl --batch-size 1 -q
jsonl_check single.jsonl "records[0] == [json.loads(l) for l in open('out.jsonl')][0]"

# --max-failures stops the run (exit 1) once more than N inputs failed.
expect_exit 1 "$ZOO" apply model.yaml photos -o capped.jsonl --batch-size 2 --max-failures 1 -q 2> err.txt
jsonl_check capped.jsonl "sum('error' in r for r in records) >= 2 and len(records) < 12"
failed=$(/usr/bin/python3 -c "import json; print(sum('error' in json.loads(l) for l in open('capped.jsonl')))")
grep -q "zoo: error: stopped: $failed inputs failed, more than --max-failures 1 allows" err.txt || fail "$(cat err.txt)"

# A floating-point TIFF holds [0, 1]: it is scaled to 0-255 like an 8-bit
# image of the same picture (OpenCV's own conversion made 0.5 into 188).
# OpenCV writes it LogLuv-compressed (lossy): here within 3% of the 8-bit
# twin's features, against 52% with the old conversion.
/usr/bin/python3 - <<'PY'
import numpy as np, cv2
a = np.full((64, 64, 3), 0.5, np.float32)
a[:32] = 0.9
cv2.imwrite("float.tiff", a)
cv2.imwrite("eight.png", (a * 255).round().astype(np.uint8))
PY
expect_exit 0 "$ZOO" embed model.yaml float.tiff eight.png --layer conv1 -o tiff.npy -q
/usr/bin/python3 -c "
import numpy as np
a = np.load('tiff.npy')
assert np.abs(a[0] - a[1]).max() < 0.1 * np.abs(a[1]).max(), (np.abs(a[0] - a[1]).max(), np.abs(a[1]).max())" ||
  fail "a float TIFF is not scaled as its 8-bit twin"

# Nothing to do at all is a usage error.
expect_exit 2 "$ZOO" apply model.yaml
echo ok
